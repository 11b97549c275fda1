/** Whether ops record the graph. A promise-returning fn keeps the mode until it settles. */
export const gradMode = { enabled: true };

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradMode.enabled;
  gradMode.enabled = enabled;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    gradMode.enabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      gradMode.enabled = prev;
    }) as T;
  }
  gradMode.enabled = prev;
  return result;
}

/** Runs fn without recording the graph, as `with torch.no_grad():`. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with recording on, also inside noGrad, as `with torch.enable_grad():`. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function isGradEnabled(): boolean {
  return gradMode.enabled;
}

export function setGradEnabled(enabled: boolean): void {
  gradMode.enabled = enabled;
}
