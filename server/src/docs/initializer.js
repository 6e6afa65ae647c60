// Swagger UI for this API's document, in the page's own frame (docs/index.html): the base
// layout (no top bar, no box for loading other documents), no deep links (each one is an
// anchor inside its operation's expand button, a control within a control), without
// Swagger UI's title block, which the page's own heading replaces, and with names for
// the controls Swagger UI leaves unnamed: the true/false list of a boolean parameter, the
// copy buttons (an icon each) and the dialog's close button (a cross).
const UNNAMED_BUTTONS = [
  [".copy-to-clipboard > button", "Copy to clipboard"],
  [".close-modal", "Close the dialog"],
];

function nameButtons(root) {
  for (const [selector, name] of UNNAMED_BUTTONS) {
    for (const button of root.querySelectorAll(`${selector}:not([aria-label])`)) {
      button.setAttribute("aria-label", name);
    }
  }
}

window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  new MutationObserver(() => nameButtons(root)).observe(root, { childList: true, subtree: true });
  const withoutTitleBlock = () => ({ wrapComponents: { InfoContainer: () => () => null } });
  const namedBooleans = () => ({
    wrapComponents: {
      JsonSchema_boolean: (Original, { React }) => (props) =>
        React.createElement(
          "label",
          { className: "docs-boolean" },
          React.createElement("span", { className: "docs-visually-hidden" }, props.description || "true or false"),
          React.createElement(Original, props),
        ),
    },
  });
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: false,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [withoutTitleBlock, namedBooleans],
  });
});
