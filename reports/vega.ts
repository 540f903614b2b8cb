/**
 * Vega-Lite charts rendered to SVG strings on the server. vega and vega-lite ship as ES modules only, while this
 * project compiles TypeScript to CommonJS; a dynamic `import()` loads them from CommonJS in every way the code
 * runs (tsx keeps `import()` as is; a tsc CommonJS build turns it into `require()`, which Node ≥ 20.19 allows for
 * ES modules without top-level await). The modules are loaded once, on the first chart. Views use the `none`
 * renderer: no DOM and no canvas, text widths come from vega's built-in estimates.
 */

/** The part of a Vega-Lite spec the renderer relies on; the rest passes through to vega-lite unchecked. */
export type VegaLiteSpec = Readonly<Record<string, unknown>>;

// vega-lite has no `types` entry that `moduleResolution: node` can find, so the few calls made are typed here.
interface VegaLiteModule {
  compile(spec: unknown, options?: { config?: unknown }): { spec: unknown };
}
interface VegaView {
  toSVG(scaleFactor?: number): Promise<string>;
  finalize(): void;
}
interface VegaModule {
  parse(spec: unknown, config?: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' | 'svg' | 'canvas'; logLevel?: number }) => VegaView;
}

/**
 * `import()` of a name held in a variable: TypeScript then does not try to resolve the package's types (vega-lite's
 * are only reachable through `exports`, which `moduleResolution: node` ignores), and the call stays an import.
 */
function importModule(name: string): Promise<unknown> {
  return import(name);
}

let loaded: Promise<{ vl: VegaLiteModule; vega: VegaModule }> | undefined;

function load(): Promise<{ vl: VegaLiteModule; vega: VegaModule }> {
  loaded ??= Promise.all([importModule('vega-lite'), importModule('vega')]).then(([vl, vega]) => ({
    vl: vl as unknown as VegaLiteModule,
    vega: vega as unknown as VegaModule,
  }));
  return loaded;
}

/** Shared look of every chart: system fonts only (no web font is fetched), quiet grid, white background. */
const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  background: 'white',
  view: { stroke: null },
  axis: { labelLimit: 260, labelFontSize: 11, titleFontSize: 11, gridColor: '#e5e7eb', domainColor: '#9ca3af', tickColor: '#9ca3af' },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom' },
  header: { labelFontSize: 11, titleFontSize: 11 },
  title: { fontSize: 13, anchor: 'start' },
};

/** Compiles a Vega-Lite spec and renders it to a standalone SVG document string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vl, vega } = await load();
  const compiled = vl.compile(spec, { config: CHART_CONFIG }).spec;
  // logLevel 0: vega's warnings (an empty scale domain, say) would otherwise go to the worker's stderr.
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: 0 });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
