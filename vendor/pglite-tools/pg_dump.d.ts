/** pg_dump as `@electric-sql/pglite-tools` builds it (its `pgDump`): always `--inserts`, so the dump restores with `exec`. */
export declare function a(options: { readonly pg: unknown; readonly args?: ReadonlyArray<string>; readonly fileName?: string }): Promise<File>
