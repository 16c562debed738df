"use client";
import { type FieldSpec, type FormValues, HYPERPARAM_SECTIONS } from "../hyperparams-form-model";

const inputClass = (invalid: boolean) =>
  `w-full rounded border px-2 py-1.5 text-sm ${invalid ? "border-red-500 bg-red-50" : "border-slate-300"}`;

function Field({
  field,
  value,
  error,
  onChange,
}: {
  field: FieldSpec;
  value: string | boolean;
  error?: string;
  onChange: (value: string | boolean) => void;
}) {
  const id = `hp-${field.path.replaceAll(".", "-")}`;
  const errorId = `${id}-error`;
  const described = error ? { "aria-invalid": true, "aria-describedby": errorId } : {};
  if (field.kind === "checkbox") {
    return (
      <label htmlFor={id} className="flex items-center gap-2 self-end pb-2 text-sm">
        <input
          id={id}
          name={field.path}
          type="checkbox"
          checked={Boolean(value)}
          onChange={(e) => onChange(e.target.checked)}
        />
        {field.label}
        {field.hint && <span className="text-xs text-slate-400">({field.hint})</span>}
      </label>
    );
  }
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-xs font-medium text-slate-600">
        {field.label}
        {field.hint && <span className="ml-1 font-normal text-slate-400">({field.hint})</span>}
      </label>
      {field.kind === "select" ? (
        <select
          id={id}
          name={field.path}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
          className={inputClass(Boolean(error))}
          {...described}
        >
          {field.optional && <option value="">none</option>}
          {field.options?.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={id}
          name={field.path}
          type="number"
          step={field.step}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
          className={inputClass(Boolean(error))}
          {...described}
        />
      )}
      {error && (
        <p id={errorId} className="mt-1 text-xs text-red-700">
          {field.label} {error}
        </p>
      )}
    </div>
  );
}

/** Every hyperparameter, grouped; errors are keyed by the field's config path. */
export function HyperparamsFields({
  values,
  errors,
  onChange,
}: {
  values: FormValues;
  errors: Record<string, string>;
  onChange: (path: string, value: string | boolean) => void;
}) {
  return (
    <div className="space-y-6">
      {HYPERPARAM_SECTIONS.map((section) => (
        <fieldset key={section.title} className="rounded border border-slate-200 bg-white p-4">
          <legend className="px-1 text-sm font-semibold text-slate-700">{section.title}</legend>
          <div className="grid grid-cols-2 gap-4 md:grid-cols-4">
            {section.fields.map((field) => (
              <Field
                key={field.path}
                field={field}
                value={values[field.path] ?? ""}
                error={errors[field.path]}
                onChange={(value) => onChange(field.path, value)}
              />
            ))}
          </div>
        </fieldset>
      ))}
    </div>
  );
}
