import type { TrustEvaluator } from './trust-evaluator';

/**
 * The background job that re-evaluates cached PDP decisions shortly before
 * they expire (see {@link TrustEvaluator.refreshDue}). The admin job runner
 * schedules it; it is safe to run on several replicas at once.
 */
export class TrustRefreshJob {
  readonly name = 'trust-refresh';

  constructor(private readonly evaluator: TrustEvaluator) {}

  async run(): Promise<{ refreshed: number }> {
    return { refreshed: await this.evaluator.refreshDue() };
  }
}
