export declare const gatewayNodeFlags: readonly string[];
export declare const gatewayEnvironment: Readonly<Record<string, string>>;
export declare const sourceRoots: readonly string[];
export declare const buildInfoFile: string;
export declare function compiledEntry(root: string): string | undefined;
