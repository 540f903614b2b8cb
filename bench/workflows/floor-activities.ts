/**
 * The floor's activity: does nothing and returns at once, so a workflow made of these calls measures only what
 * the server and the SDK cost per activity (scheduling, polling, completion, the workflow task that follows).
 */
export async function noop(): Promise<null> {
  return null;
}
