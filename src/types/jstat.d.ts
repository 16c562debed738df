// The part of jStat (no bundled types) that Labbook's statistics use.
declare module "jstat" {
  export const jStat: {
    studentt: {
      cdf(x: number, dof: number): number;
      inv(p: number, dof: number): number;
    };
  };
}
