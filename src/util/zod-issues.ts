import type { z } from 'zod';

/**
 * zod's issues as the gateway reports them (an HTTP 400's `details`, an event's issues in the bridge's dead letters):
 * one `{ path, message }` per problem, the path dotted, each unknown key under its own path; `root` names a problem of
 * the whole input.
 */
export function issuesByPath(issues: readonly z.core.$ZodIssue[], root = ''): Array<{ path: string; message: string }> {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: issue.message }));
    return [{ path: path.join('.') || root, message: issue.message }];
  });
}
