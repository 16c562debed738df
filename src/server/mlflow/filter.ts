// MLflow's search_runs filter and order_by grammar, parsed into clauses that search.ts turns
// into SQL. The grammar is MLflow's (mlflow/utils/search_utils.py): comparisons joined by AND;
// an identifier is `entity.key` (metrics, params, tags, attributes and their aliases) or a bare
// attribute; keys may be quoted with backticks or double quotes.
import { MlflowError } from "./errors";

export type Entity = "metric" | "param" | "tag" | "attribute";
export type Comparator = "=" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE" | "IN" | "NOT IN";

export interface Clause {
  entity: Entity;
  key: string;
  comparator: Comparator;
  /** A number for metrics and numeric attributes, a string or a list of strings otherwise. */
  value: number | string | string[];
}

export interface OrderBy {
  entity: Entity;
  key: string;
  ascending: boolean;
}

const ENTITY_ALIASES: Record<string, Entity> = {
  metric: "metric",
  metrics: "metric",
  param: "param",
  params: "param",
  parameter: "param",
  parameters: "param",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
};

export const STRING_ATTRIBUTES = new Set(["run_id", "run_name", "user_id", "status", "artifact_uri"]);
export const NUMERIC_ATTRIBUTES = new Set(["start_time", "end_time"]);
const ATTRIBUTE_ALIASES: Record<string, string> = {
  created: "start_time",
  Created: "start_time",
  "run name": "run_name",
  "Run name": "run_name",
  "Run Name": "run_name",
};

const NUMERIC_COMPARATORS = new Set<Comparator>(["=", "!=", "<", "<=", ">", ">="]);
const STRING_COMPARATORS = new Set<Comparator>(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"]);

/** Longest filter accepted: a filter is a line of code, not a document. */
export const MAX_FILTER_LENGTH = 10_000;

type Token =
  | { kind: "word"; text: string; at: number }
  | { kind: "quoted"; text: string; quote: string; at: number }
  | { kind: "number"; value: number; text: string; at: number }
  | { kind: "op"; text: string; at: number }
  | { kind: "punct"; text: "(" | ")" | "," | "."; at: number };

const invalid = (message: string) => new MlflowError("INVALID_PARAMETER_VALUE", message);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "'" || c === '"' || c === "`") {
      let text = "";
      i++;
      for (;;) {
        if (i >= input.length) throw invalid(`unterminated ${c}-quoted text starting at position ${at + 1}`);
        const ch = input[i] as string;
        if (ch === c) {
          // A doubled quote stands for the quote itself, as in SQL.
          if (input[i + 1] === c) {
            text += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        // A backslash stays in the value (LIKE reads it as its escape), and keeps the quote
        // after it from ending the string, as MLflow's tokenizer (sqlparse) does.
        if (ch === "\\" && i + 1 < input.length) {
          text += ch + input[i + 1];
          i += 2;
          continue;
        }
        text += ch;
        i++;
      }
      tokens.push({ kind: "quoted", text, quote: c, at });
      continue;
    }
    const number = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(input.slice(i));
    const previous = tokens.at(-1);
    // A number only where a value may stand (after an operator), so `metrics.1x` stays a name.
    if (number && previous?.kind === "op") {
      tokens.push({ kind: "number", value: Number(number[0]), text: number[0], at });
      i += number[0].length;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(input.slice(i));
    if (op) {
      tokens.push({ kind: "op", text: op[0] === "<>" ? "!=" : op[0], at });
      i += op[0].length;
      continue;
    }
    if (c === "(" || c === ")" || c === "," || c === ".") {
      tokens.push({ kind: "punct", text: c, at });
      i++;
      continue;
    }
    const word = /^[\p{L}\p{N}\p{M}_\-/:+]+/u.exec(input.slice(i));
    if (word) {
      tokens.push({ kind: "word", text: word[0], at });
      i += word[0].length;
      continue;
    }
    throw invalid(`unexpected character '${c}' at position ${at + 1}`);
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  keyword(word: string): boolean {
    const token = this.peek();
    if (token?.kind === "word" && token.text.toUpperCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }
  where(token: Token | undefined): string {
    return token ? `at position ${token.at + 1}` : "at the end";
  }

  /** `entity.key`, `entity.`key``, `key` (an attribute), or a quoted key after the dot. */
  identifier(): { entity: Entity; key: string } {
    const first = this.next();
    if (!first || (first.kind !== "word" && first.kind !== "quoted"))
      throw invalid(`expected a key such as metrics.accuracy ${this.where(first)} of '${this.source}'`);
    const dot = this.peek();
    if (dot?.kind !== "punct" || dot.text !== ".") return this.qualified("attribute", first.text, true);
    this.i++;
    // An unquoted key is the words and dots written together: `metrics.val.acc`,
    // `tags.mlflow.runName`; whitespace ends it.
    let key = "";
    let end = dot.at + 1;
    const next = this.peek();
    if (next?.kind === "quoted" && next.at === end) {
      key = next.text;
      this.i++;
    } else {
      for (;;) {
        const part = this.peek();
        if (
          !part ||
          part.at !== end ||
          (part.kind !== "word" && !(part.kind === "punct" && part.text === "."))
        )
          break;
        key += part.text;
        end = part.at + part.text.length;
        this.i++;
      }
    }
    if (!key) throw invalid(`expected a key after '${first.text}.' ${this.where(this.peek())}`);
    return this.qualified(first.text, key);
  }

  private qualified(entityText: string, rawKey: string, bare = false): { entity: Entity; key: string } {
    const entity = bare ? "attribute" : ENTITY_ALIASES[entityText];
    if (!entity)
      throw invalid(
        `invalid entity type '${entityText}'; use metrics., params., tags. or attributes. (or a bare attribute)`,
      );
    if (entity !== "attribute") return { entity, key: rawKey };
    const key = ATTRIBUTE_ALIASES[rawKey] ?? rawKey;
    if (!STRING_ATTRIBUTES.has(key) && !NUMERIC_ATTRIBUTES.has(key))
      throw invalid(
        `invalid attribute key '${rawKey}'; valid keys are ${[...STRING_ATTRIBUTES, ...NUMERIC_ATTRIBUTES].join(", ")}`,
      );
    return { entity, key };
  }

  comparator(): Comparator {
    const token = this.peek();
    if (token?.kind === "op") {
      this.i++;
      return token.text as Comparator;
    }
    if (this.keyword("LIKE")) return "LIKE";
    if (this.keyword("ILIKE")) return "ILIKE";
    if (this.keyword("IN")) return "IN";
    if (this.keyword("NOT")) {
      if (this.keyword("IN")) return "NOT IN";
      throw invalid(`expected IN after NOT ${this.where(this.peek())}`);
    }
    throw invalid(
      `expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN) ${this.where(token)} of '${this.source}'`,
    );
  }

  list(): string[] {
    const open = this.next();
    if (open?.kind !== "punct" || open.text !== "(")
      throw invalid(`expected a parenthesised list of quoted values ${this.where(open)}`);
    const values: string[] = [];
    for (;;) {
      const item = this.next();
      if (item?.kind !== "quoted" || item.quote === "`")
        throw invalid(`expected a quoted value in the list ${this.where(item)}`);
      values.push(item.text);
      const sep = this.next();
      if (sep?.kind === "punct" && sep.text === ")") break;
      if (sep?.kind !== "punct" || sep.text !== ",") throw invalid(`expected ',' or ')' ${this.where(sep)}`);
    }
    return values;
  }
}

/** Parses a search_runs filter; an empty filter is no clause. */
export function parseFilter(filter: string | undefined): Clause[] {
  if (!filter?.trim()) return [];
  if (filter.length > MAX_FILTER_LENGTH) throw invalid(`the filter is over ${MAX_FILTER_LENGTH} characters`);
  const parser = new Parser(tokenize(filter), filter);
  const clauses: Clause[] = [];
  for (;;) {
    const { entity, key } = parser.identifier();
    const comparator = parser.comparator();
    clauses.push(clause(parser, entity, key, comparator));
    if (parser.done) break;
    if (!parser.keyword("AND"))
      throw invalid(`expected AND ${parser.where(parser.peek())} of '${filter}' (only AND joins clauses)`);
  }
  return clauses;
}

function clause(parser: Parser, entity: Entity, key: string, comparator: Comparator): Clause {
  const numeric = entity === "metric" || (entity === "attribute" && NUMERIC_ATTRIBUTES.has(key));
  const allowed = numeric ? NUMERIC_COMPARATORS : STRING_COMPARATORS;
  const name = entity === "attribute" ? key : `${entity}s.${key}`;
  if (!allowed.has(comparator))
    throw invalid(`invalid comparator '${comparator}' for ${name}; use one of ${[...allowed].join(", ")}`);
  if (comparator === "IN" || comparator === "NOT IN")
    return { entity, key, comparator, value: parser.list() };
  const token = parser.next();
  if (numeric) {
    if (token?.kind !== "number")
      throw invalid(`expected a number for ${name} ${parser.where(token)}, found ${describe(token)}`);
    return { entity, key, comparator, value: token.value };
  }
  if (token?.kind !== "quoted" || token.quote === "`")
    throw invalid(`expected a quoted string for ${name} (e.g. 'my-value'), found ${describe(token)}`);
  return { entity, key, comparator, value: token.text };
}

const describe = (token: Token | undefined) =>
  !token ? "nothing" : token.kind === "number" ? token.text : `'${"text" in token ? token.text : ""}'`;

/** Parses one order_by entry: `metrics.acc DESC`, `attributes.start_time`, `params.`lr` ASC`. */
export function parseOrderBy(entry: string): OrderBy {
  if (entry.length > 1000) throw invalid("an order_by entry is over 1000 characters");
  const parser = new Parser(tokenize(entry), entry);
  const { entity, key } = parser.identifier();
  let ascending = true;
  if (parser.keyword("DESC")) ascending = false;
  else parser.keyword("ASC");
  if (!parser.done) throw invalid(`invalid order_by clause '${entry}'; expected KEY [ASC|DESC]`);
  return { entity, key, ascending };
}
