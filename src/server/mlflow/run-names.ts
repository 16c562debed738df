// Names for runs created without one, in MLflow's manner ("brave-owl-417").
import { randomInt } from "node:crypto";

const ADJECTIVES = [
  "brave",
  "calm",
  "clever",
  "bold",
  "bright",
  "gentle",
  "keen",
  "lucky",
  "merry",
  "nimble",
  "proud",
  "quiet",
  "rare",
  "swift",
  "sunny",
  "wise",
  "witty",
  "zesty",
  "amber",
  "silver",
];
const NOUNS = [
  "owl",
  "fox",
  "otter",
  "lynx",
  "heron",
  "panda",
  "finch",
  "moose",
  "koala",
  "whale",
  "crane",
  "bison",
  "gecko",
  "robin",
  "seal",
  "wolf",
  "hare",
  "yak",
  "eel",
  "ram",
];

export function randomRunName(): string {
  const pick = (words: string[]) => words[randomInt(words.length)] as string;
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000)}`;
}
