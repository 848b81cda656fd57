// The example repository of `synthetic demo`: one template with a dev server
// and an agent on the offline model (no credentials needed).
export default {
  defaults: { templateId: "web" },
  promptSources: ["docs/brief.md"],
  templates: {
    web: {
      label: "Web page",
      summary: "Change the static site, with its dev server running",
      type: "implementation",
      agent: { providerId: "offline", modelId: "echo" },
      services: {
        web: {
          type: "process",
          ports: [{ name: "http", preferred: 8080 }],
          run: "python3 -m http.server $PORT --bind 127.0.0.1 --directory web",
          readyPattern: "Serving HTTP",
          readyTimeoutMs: 20000,
        },
      },
    },
  },
};
