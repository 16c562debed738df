// TensorBoard's curve smoothing: an exponential moving average, debiased so the first points
// are not pulled toward zero. weight 0 leaves the curve as it is.
export function smooth(values: number[], weight: number): number[] {
  if (weight <= 0) return values;
  let last = 0;
  let count = 0;
  return values.map((value) => {
    if (!Number.isFinite(value)) return value;
    last = last * weight + (1 - weight) * value;
    count += 1;
    return last / (1 - weight ** count);
  });
}
