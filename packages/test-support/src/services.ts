/**
 * Suites that need a service this machine may not have (MongoDB: neither package registry here
 * offers a server). They run wherever the service's URL variable is set, and fail if it is set
 * and the service is unreachable. Where it is unset they register NOTHING (a skipped test counted
 * as passing would hide that they did not run) and print one plain line saying so.
 */
export type ServicePlan = { run: true; url: string } | { run: false; reason: string };

/** What to do with the suites of `what`, given the value of the environment variable `variable`. */
export function servicePlan(what: string, variable: string, value: string | undefined, hint: string): ServicePlan {
  if (value !== undefined && value.trim() !== '') return { run: true, url: value.trim() };
  return { run: false, reason: `${what} did not run: ${variable} is not set (${hint})` };
}

/** The MongoDB suites' plan for this process (MONGO_URL). */
export function mongoPlan(what: string): ServicePlan {
  return servicePlan(what, 'MONGO_URL', process.env.MONGO_URL, 'no MongoDB server on this machine; set MONGO_URL, e.g. from test-integration/docker-compose.yml');
}
