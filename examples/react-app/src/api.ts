/** The example backend's API (examples/backend): a simulated AI service. */

export interface Model {
  id: string;
  name: string;
  provider: string;
}

export interface ChatReply {
  reply: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  latency_ms: number;
}

/** An answer the API gave that is not what was asked for, with its message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function json<T>(response: Response): Promise<T> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('application/json')) {
    throw new ApiError(response.status, `the API is not running here (got ${type || 'no content type'})`);
  }
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body;
}

/** `GET /api/models` */
export function fetchModels(): Promise<Response> {
  return fetch('/api/models');
}

/** `POST /api/chat` */
export function postChat(model: string, message: string): Promise<Response> {
  return fetch('/api/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, message }),
  });
}

export const readModels = (response: Response) => json<Model[]>(response);
export const readReply = (response: Response) => json<ChatReply>(response);
