// Start from an example spec, edit it as JSON, see it validated as you type, then submit it.

import { api, ApiError } from "../api.js";
import { fill, h } from "../dom.js";
import { BUILT_IN_EXAMPLES } from "../examples.js";
import { bytes, number } from "../format.js";
import { go } from "../router.js";
import { findSummary, summaryTable } from "./summary.js";

const DEBOUNCE_MS = 400;
const PREFERRED = "moons";

/** The spec in the editor, or throws a SyntaxError that says where. */
function parseSpec(text) {
  const spec = JSON.parse(text);
  if (!spec || typeof spec !== "object" || Array.isArray(spec)) {
    throw new SyntaxError("the spec must be a JSON object");
  }
  return spec;
}

export function submitView(root) {
  let examples = BUILT_IN_EXAMPLES;
  let timer = null;
  let controller = null;
  let validated = null; // the editor text that the last successful validation checked
  const exampleSelect = h("select", {
    id: "example",
    "aria-label": "example",
    onchange: () => useExample(exampleSelect.value),
  });
  const exampleNote = h("p", { class: "muted small", id: "example-description" });
  const nameInput = h("input", {
    id: "job-name",
    type: "text",
    maxLength: 200,
    placeholder: "optional",
  });
  const editor = h("textarea", {
    id: "spec",
    rows: 28,
    spellcheck: false,
    oninput: schedule,
    "aria-label": "spec (JSON)",
  });
  const state = h("div", {
    id: "validation",
    class: "validation",
    role: "status",
    dataset: { state: "idle" },
  });
  const details = h("div", { id: "validation-details" });
  const submitButton = h(
    "button",
    { type: "submit", class: "primary", id: "submit", disabled: true },
    "Submit job",
  );
  const submitError = h("p", { class: "error", id: "submit-error", role: "alert" });

  function setState(name, ...children) {
    state.dataset.state = name;
    fill(state, children);
    submitButton.disabled = name !== "valid";
  }

  function useExample(name) {
    const example = examples.find((candidate) => candidate.name === name) ?? examples[0];
    editor.value = JSON.stringify(example.spec, null, 2);
    nameInput.value = example.name;
    exampleNote.textContent = example.description ?? "";
    validate();
  }

  function schedule() {
    clearTimeout(timer);
    submitButton.disabled = true;
    setState("pending", "Checking…");
    timer = setTimeout(validate, DEBOUNCE_MS);
  }

  async function validate() {
    clearTimeout(timer);
    controller?.abort();
    controller = new AbortController();
    const text = editor.value;
    let spec;
    try {
      spec = parseSpec(text);
    } catch (error) {
      validated = null;
      fill(details);
      setState("invalid", h("strong", {}, "Not valid JSON: "), error.message);
      return;
    }
    setState("pending", "Checking…");
    try {
      const result = await api.post("/jobs/validate", { spec }, { signal: controller.signal });
      validated = text;
      setState("valid", h("strong", {}, "Valid."), " Nothing is stored until you submit.");
      fill(details, describe(result));
    } catch (error) {
      if (error.name === "AbortError") return;
      validated = null;
      fill(details);
      const fields = error instanceof ApiError ? error.fields : [];
      setState(
        "invalid",
        h("strong", {}, fields.length ? "The spec has errors:" : error.message),
        fields.length
          ? h(
              "ul",
              { class: "field-errors" },
              fields.map((f) => h("li", {}, h("code", { class: "field" }, f.field), " ", f.msg)),
            )
          : null,
      );
    }
  }

  function describe(result) {
    const dataset = result.dataset || {};
    const dryRun = result.dry_run || {};
    const summary = findSummary(result);
    const facts = [
      [
        "data set",
        `${dataset.type}: ${number(dataset.n_samples)} samples of [${(dataset.sample_shape || []).join(", ")}]`,
      ],
      [
        "targets",
        `${dataset.target_kind}${dataset.num_classes ? `, ${dataset.num_classes} classes` : ""}`,
      ],
      ["steps per epoch", number(result.steps_per_epoch)],
      ["first loss (dry run)", number(dryRun.loss)],
      ["memory estimate", bytes(dryRun.memory?.total)],
    ];
    return [
      result.warnings?.length
        ? h(
            "ul",
            { class: "warnings", id: "warnings" },
            result.warnings.map((w) => h("li", {}, w)),
          )
        : null,
      h(
        "dl",
        { class: "meta" },
        facts.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
      ),
      summary ? summaryTable(summary) : null,
    ];
  }

  async function submit(event) {
    event.preventDefault();
    submitError.textContent = "";
    if (validated !== editor.value) return validate();
    submitButton.disabled = true;
    try {
      const name = nameInput.value.trim() || undefined;
      const job = await api.post("/jobs", { name, spec: parseSpec(editor.value) });
      go(`/jobs/${job.id}`);
    } catch (error) {
      submitError.textContent = error.message;
      submitButton.disabled = false;
    }
  }

  async function loadExamples() {
    try {
      const served = await api.get("/examples");
      if (Array.isArray(served) && served.length) examples = served;
    } catch {
      // an older server without the examples route: the built-in one is enough
    }
    fill(
      exampleSelect,
      examples.map((example) => h("option", { value: example.name }, example.name)),
    );
    const first = examples.find((example) => example.name === PREFERRED) ?? examples[0];
    exampleSelect.value = first.name;
    useExample(first.name);
  }

  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "New job")),
    h(
      "form",
      { class: "submit-grid", onsubmit: submit },
      h(
        "div",
        { class: "card" },
        h("label", { for: "example" }, "Start from an example"),
        exampleSelect,
        exampleNote,
        h("label", { for: "job-name" }, "Name"),
        nameInput,
        h(
          "label",
          { for: "spec" },
          "Spec (JSON; see ",
          h("a", { href: "docs", target: "_blank", rel: "noopener" }, "GET /api/v1/catalog"),
          " for every type)",
        ),
        editor,
        h("div", { class: "actions" }, submitButton),
        submitError,
      ),
      h("div", { class: "card" }, h("h2", {}, "Validation"), state, details),
    ),
  );
  loadExamples();
  return () => {
    clearTimeout(timer);
    controller?.abort();
  };
}
