// The typed request→reply map. Reply names are derived from request names, never typed by hand
// (tslab answered comm_info_request with complete_reply; here that does not compile).

export type Status = 'ok' | 'error' | 'aborted';

export interface ErrorContent {
  status: 'error';
  ename: string;
  evalue: string;
  traceback: string[];
}

export type MimeBundle = Record<string, unknown>;

export interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  user_expressions?: Record<string, string>;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
}

export type ExecuteReply =
  | { status: 'ok'; execution_count: number; user_expressions: Record<string, unknown>; payload: unknown[] }
  | (ErrorContent & { execution_count: number })
  | { status: 'aborted'; execution_count: number };

export interface CompleteRequest {
  code: string;
  cursor_pos: number;
}
export interface CompleteReply {
  status: 'ok';
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: Record<string, unknown>;
}

export interface InspectRequest {
  code: string;
  cursor_pos: number;
  detail_level?: 0 | 1;
}
export interface InspectReply {
  status: 'ok';
  found: boolean;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

export interface IsCompleteRequest {
  code: string;
}
export interface IsCompleteReply {
  status: 'complete' | 'incomplete' | 'invalid' | 'unknown';
  indent?: string;
}

export interface HistoryRequest {
  output?: boolean;
  raw?: boolean;
  hist_access_type: 'range' | 'tail' | 'search';
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}
export interface HistoryReply {
  status: 'ok';
  /** `[session, line, input]`, or `[session, line, [input, output]]` when output was asked. */
  history: ([number, number, string] | [number, number, [string, string | null]])[];
}

export interface KernelInfoReply {
  status: 'ok';
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: {
    name: string;
    version: string;
    mimetype: string;
    file_extension: string;
    codemirror_mode?: string;
    pygments_lexer?: string;
  };
  banner: string;
  help_links: { text: string; url: string }[];
}

export interface CommInfoRequest {
  target_name?: string;
}
export interface CommInfoReply {
  status: 'ok';
  comms: Record<string, { target_name: string }>;
}

export interface ShutdownRequest {
  restart: boolean;
}
export interface ShutdownReply {
  status: 'ok';
  restart: boolean;
}

export type InterruptReply = { status: 'ok' };

/** Every request this kernel answers, and what it answers with. */
export interface RequestReplyMap {
  kernel_info_request: { request: Record<string, never>; reply: KernelInfoReply };
  execute_request: { request: ExecuteRequest; reply: ExecuteReply };
  complete_request: { request: CompleteRequest; reply: CompleteReply };
  inspect_request: { request: InspectRequest; reply: InspectReply };
  is_complete_request: { request: IsCompleteRequest; reply: IsCompleteReply };
  history_request: { request: HistoryRequest; reply: HistoryReply };
  comm_info_request: { request: CommInfoRequest; reply: CommInfoReply };
  shutdown_request: { request: ShutdownRequest; reply: ShutdownReply };
  interrupt_request: { request: Record<string, never>; reply: InterruptReply };
}

export type RequestType = keyof RequestReplyMap;
export type ReplyType<K extends RequestType> = K extends `${infer Base}_request` ? `${Base}_reply` : never;
export type RequestContent<K extends RequestType> = RequestReplyMap[K]['request'];
export type ReplyContent<K extends RequestType> = RequestReplyMap[K]['reply'];

const REQUEST_TYPES: readonly RequestType[] = [
  'kernel_info_request',
  'execute_request',
  'complete_request',
  'inspect_request',
  'is_complete_request',
  'history_request',
  'comm_info_request',
  'shutdown_request',
  'interrupt_request',
] satisfies readonly RequestType[];

export function isRequestType(t: string): t is RequestType {
  return (REQUEST_TYPES as readonly string[]).includes(t);
}

export function replyType<K extends RequestType>(request: K): ReplyType<K> {
  return request.replace(/_request$/, '_reply') as ReplyType<K>;
}

/** Comm messages are one-way (no reply), so they sit outside the request→reply map. */
export type CommMessageType = 'comm_open' | 'comm_msg' | 'comm_close';
export function isCommMessageType(t: string): t is CommMessageType {
  return t === 'comm_open' || t === 'comm_msg' || t === 'comm_close';
}

/** Used in the default branch of a switch over RequestType, so a new request type must be handled. */
export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${String(x)}`);
}
