"""Writes test/fixtures/keras-augment.json: Keras 2's ImageDataGenerator channel shift and
brightness (apply_channel_shift, then apply_brightness_shift(x, b, scale=False)) on small
z-scored images, computed with numpy and real PIL (Debian's python3-numpy, python3-pil).
Keras itself is not packaged by Debian, so its two functions' arithmetic is written out here
from their documented behaviour, in float32 as Keras runs them:

- channel shift: one intensity per image added to every channel, clipped to the image's own
  min and max (taken before the shift);
- brightness on data outside [0, 255]: min-max scale to [0, 255] and truncate to uint8, PIL's
  ImageEnhance.Brightness (multiply, truncate, clip at 255), then map back to the image's own
  min and max.

    /usr/bin/python3 scripts/reference/keras_augment_fixture.py
"""
import json
import pathlib

import numpy as np
import PIL
from PIL import Image, ImageEnhance

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "keras-augment.json"


def channel_shift(x, intensity):
    lo, hi = np.min(x), np.max(x)
    return np.clip(x + np.float32(intensity), lo, hi).astype(np.float32)


def brightness(x, factor):
    lo, hi = np.min(x), np.max(x)
    scaled = x - lo
    top = np.max(scaled)
    if top != 0:
        scaled /= top
    scaled *= 255
    image = Image.fromarray(scaled.astype("uint8"), "RGB")
    brightened = np.asarray(ImageEnhance.Brightness(image).enhance(factor), dtype=np.float32)
    return (brightened / 255 * (hi - lo) + lo).astype(np.float32)


rng = np.random.default_rng(7)
cases = []
for i in range(6):
    # A z-scored CIFAR-like image: roughly N(0, 1), 8×8 RGB, with a few saturated pixels.
    x = rng.normal(0, 1, size=(8, 8, 3)).astype(np.float32)
    x[0, 0] = [2.5, 2.4, 2.6]
    intensity = float(np.float32(rng.uniform(-0.1, 0.1)))
    factor = [0.9, 1.1, 0.95, 1.05, 1.5, 0.5][i]
    shifted = channel_shift(x, intensity)
    cases.append(
        {
            "image": x.ravel().tolist(),
            "shape": list(x.shape),
            "intensity": intensity,
            "brightness": factor,
            "shifted": shifted.ravel().tolist(),
            # Keras' order: affine, channel shift, flip, brightness.
            "shiftedThenBrightened": brightness(shifted.copy(), factor).ravel().tolist(),
        }
    )

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({"generator": f"numpy {np.__version__}, Pillow {PIL.__version__}", "cases": cases}))
print(f"wrote {OUT}")
