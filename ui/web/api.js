// The page's only way to the server: the public /api/v1 routes, same origin.

export class ApiError extends Error {
  constructor(status, message, where) {
    super(message);
    this.status = status;
    this.where = where || '';
  }
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, signal, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'the Tidemark server did not answer; is `tidemark serve` running?');
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // A non-JSON answer is reported below by its status.
  }
  if (!response.ok) {
    const err = data && data.error;
    throw new ApiError(response.status, (err && err.message) || `HTTP ${response.status}`,
                       err && err.where);
  }
  return data;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
