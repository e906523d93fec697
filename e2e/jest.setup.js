// End-to-end tests start real processes; on a loaded 2-core machine a start can take seconds.
// (`testTimeout` is a global Jest option and is ignored in a project's config.)
jest.setTimeout(60_000);
