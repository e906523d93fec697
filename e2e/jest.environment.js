// The Node test environment, plus: when a test file is done (after all its
// hooks), kill every built app it started and did not stop, for example the
// first of two parallel starts when the second failed. A live child process
// would otherwise keep the Jest worker, and so the whole run, from exiting.
const { TestEnvironment } = require('jest-environment-node');

class E2eEnvironment extends TestEnvironment {
  async teardown() {
    const live = this.global.__walletBuiltAppChildren;
    if (live && live.size > 0) {
      process.stderr.write(`e2e: killing ${live.size} built app(s) the test file left running\n`);
      await Promise.all(
        [...live].map(
          (child) =>
            new Promise((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', resolve);
              child.kill('SIGKILL');
            }),
        ),
      );
    }
    await super.teardown();
  }
}

module.exports = E2eEnvironment;
