//! Schedule stage: wakes the pipeline on the configured cron expression.

use tokio_cron_scheduler::Job;

/// Checks a cron expression with the scheduler's own parser; gives the parser's reason on failure.
pub fn validate_cron(expr: &str) -> Result<(), String> {
    Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| format!("invalid cron expression '{expr}': {e}"))
}
