"""An independent implementation of Labbook's prediction preprocessing, for the test fixtures in
test/fixtures/preprocess: PIL decodes (EXIF orientation applied), shrinks images whose long
side passes 512 px (Lanczos, as libvips does), then numpy halves with 2x2 box filters while both
sides are at least 64 px, and torch resizes to 32x32 bilinearly with half-pixel centres. It shares
no code with Labbook (sharp, libvips, tfjs).

Writes the images it makes and expected.json ({file: 32x32x3 values in 0-255, row-major}).

    /usr/bin/python3 scripts/reference/preprocess_reference.py test/fixtures/preprocess
"""

import json
import pathlib
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps

LONG_SIDE = 512
SIZE = 32


def make_images(out: pathlib.Path) -> list[pathlib.Path]:
    rng = np.random.default_rng(7)
    files = []

    def scene(width: int, height: int) -> Image.Image:
        y, x = np.mgrid[0:height, 0:width]
        rgb = np.stack(
            [(x * 255 / width), (y * 255 / height), ((x + y) * 127 / (width + height) + 64)], axis=-1
        ).astype(np.uint8)
        image = Image.fromarray(rgb, "RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x0, y0 = rng.integers(0, width), rng.integers(0, height)
            r = int(rng.integers(width // 20 + 1, width // 5 + 2))
            draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        return image

    def save(image: Image.Image, name: str, **options) -> None:
        image.save(out / name, **options)
        files.append(out / name)

    save(scene(32, 32), "cifar-size.png")
    save(scene(20, 30), "small-upscaled.png")
    save(scene(300, 200), "web-photo.jpg", quality=92)
    save(scene(1600, 1200), "phone-photo.jpg", quality=90)
    rotated = scene(240, 160)
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: view it rotated 90 degrees clockwise
    save(rotated, "exif-rotated.jpg", quality=92, exif=exif)
    rgba = scene(100, 80).convert("RGBA")
    alpha = np.full((80, 100), 255, np.uint8)
    alpha[:, :50] = 0
    rgba.putalpha(Image.fromarray(alpha))
    save(rgba, "transparent-half.png")
    return files


def preprocess(path: pathlib.Path) -> np.ndarray:
    image = ImageOps.exif_transpose(Image.open(path))
    # Labbook reads the colour channels and ignores alpha (the colour under transparency stays).
    rgb = image.convert("RGBA") if image.mode in ("RGBA", "LA", "P") else image.convert("RGB")
    if max(rgb.size) > LONG_SIDE:
        scale = LONG_SIDE / max(rgb.size)
        rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.LANCZOS)
    x = np.asarray(rgb, dtype=np.float32)[..., :3]
    while x.shape[0] >= 2 * SIZE and x.shape[1] >= 2 * SIZE:
        h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
        x = x[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1).unsqueeze(0)
    small = torch.nn.functional.interpolate(t, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return small[0].permute(1, 2, 0).numpy()


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    expected = {f.name: [round(float(v), 2) for v in preprocess(f).reshape(-1)] for f in make_images(out)}
    (out / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    main()
