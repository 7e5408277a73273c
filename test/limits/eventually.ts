/**
 * Waits for work that runs after a response was sent (reservations are released when the
 * exchange closes): polls `check` until it returns true, for at most `timeoutMs` of real time.
 */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}
