/** A dataset problem a user can act on: names the file and what is wrong with it. */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "DatasetError";
  }
}
