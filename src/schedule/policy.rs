//! The polling policy: when a source is due again after a fetch (adaptive interval, backoff with
//! jitter, the server's Retry-After) and when a failed item is tried again.
//!
//! Pure functions of the `[schedule]` config section and a source's state; the pipeline applies
//! them, [`super::next_try`] explains their result to operators.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::ScheduleConfig;
use crate::model::{SourceState, SourceUpdate};

/// Next poll after a success: the interval shrinks towards the minimum when the source had new
/// items and grows towards the maximum when it had none. `interval` is the source's own
/// `interval`, if it sets one. The validators are left empty for the caller to fill.
pub fn success_update(
    schedule: &ScheduleConfig,
    interval: Option<Duration>,
    state: &SourceState,
    at: DateTime<Utc>,
    fresh_items: bool,
    stored: bool,
) -> SourceUpdate {
    let min = secs_i64(interval.unwrap_or(schedule.min_interval));
    let max = secs_i64(schedule.max_interval).max(min);
    let current = state.interval_secs.clamp(min, max);
    let interval = if fresh_items {
        (current / 2).max(min)
    } else {
        (current + current / 2).min(max)
    };
    SourceUpdate {
        fetched_at: at,
        result: Ok(()),
        etag: None,
        last_modified: None,
        next_due_at: add_secs(at, interval),
        interval_secs: interval,
        new_story_at: stored.then_some(at),
    }
}

/// Next poll after a failure: exponential backoff with jitter, capped at the maximum interval,
/// never sooner than the server's Retry-After.
pub fn failure_update(
    schedule: &ScheduleConfig,
    state: &SourceState,
    at: DateTime<Utc>,
    error: String,
    retry_after: Option<Duration>,
) -> SourceUpdate {
    let base = secs_i64(schedule.min_interval).max(1);
    let max = secs_i64(schedule.max_interval).max(base);
    let errors = u32::try_from(state.consecutive_errors.clamp(0, 16)).unwrap_or(16);
    let backoff = base.saturating_mul(1i64 << errors).min(max);
    let jitter = rand::random_range(0..=(backoff / 10).max(1));
    let mut delay = backoff.saturating_add(jitter);
    if let Some(ra) = retry_after {
        // The server's wish is honoured up to the longest interval we ever wait: a
        // Retry-After of centuries is a broken or hostile server, not a plan.
        delay = delay.max(secs_i64(ra).min(max));
    }
    SourceUpdate {
        fetched_at: at,
        result: Err(error),
        etag: None,
        last_modified: None,
        next_due_at: add_secs(at, delay),
        interval_secs: state.interval_secs,
        new_story_at: None,
    }
}

/// A manual run polls out of turn and must not feed the adaptive interval: the interval stays as
/// the schedule set it. A success still moves the due time to one (unchanged) interval after `at`,
/// as the source was just read: leaving it would have the next cron tick read it again and
/// `status` call it overdue. A failure leaves the due time alone (a manual run does not start a
/// backoff). Either way a Retry-After the server sent (at `at`) still pushes the due time.
pub fn keep_schedule(
    schedule: &ScheduleConfig,
    update: &mut SourceUpdate,
    state: &SourceState,
    at: DateTime<Utc>,
    retry_after: Option<Duration>,
) {
    update.interval_secs = state.interval_secs;
    let max = secs_i64(schedule.max_interval).max(1);
    let due = if update.result.is_ok() {
        add_secs(at, state.interval_secs.clamp(1, max))
    } else {
        state.next_due_at
    };
    // Saturating, and clamped like the scheduled path: Retry-After is the server's number.
    let floor = retry_after.map(|ra| add_secs(at, secs_i64(ra.min(schedule.max_interval))));
    update.next_due_at = due.max(floor.unwrap_or(due));
}

/// When a failed item is tried next (`None`: give it up). Permanent errors get one attempt per
/// configured delay; transient ones repeat the last delay until `item_retry_max_age` has passed
/// since the first failure.
pub fn next_item_attempt(
    schedule: &ScheduleConfig,
    attempts: i64,
    first_failed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    permanent: bool,
) -> Option<DateTime<Utc>> {
    let s = schedule;
    let retries_done = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX);
    let delay = if permanent {
        *s.item_retry_delays.get(retries_done)?
    } else {
        let max_age = chrono::Duration::from_std(s.item_retry_max_age).ok()?;
        if now - first_failed_at >= max_age {
            return None;
        }
        s.item_retry_delays
            .get(retries_done)
            .or(s.item_retry_delays.last())
            .copied()
            .unwrap_or(s.min_interval)
    };
    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    Some(
        now.checked_add_signed(delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

/// Whole seconds of `d` as an `i64`, saturating (config and remote durations can be huge).
fn secs_i64(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// `at` plus `secs`, saturating at a far but storable date instead of overflowing.
fn add_secs(at: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    // A century: beyond any interval the config allows, and every store can hold the result.
    const FAR: i64 = 100 * 366 * 86_400;
    let secs = secs.clamp(-FAR, FAR);
    chrono::Duration::try_seconds(secs)
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn state(due: DateTime<Utc>) -> SourceState {
        SourceState {
            name: "a".into(),
            kind: "feed".into(),
            url: "https://example.com/a".into(),
            etag: None,
            last_modified: None,
            last_fetch_at: None,
            last_success_at: None,
            last_error: None,
            consecutive_errors: 0,
            next_due_at: due,
            interval_secs: 600,
            last_new_story_at: None,
            lease_owner: None,
            lease_until: None,
        }
    }

    #[test]
    fn a_manual_success_keeps_the_interval_and_is_next_due_one_interval_later() {
        let schedule = ScheduleConfig::default();
        let st = state(at(0));
        // No new items: the scheduled path would grow the interval; a manual run must not.
        let mut u = success_update(&schedule, None, &st, at(100), false, false);
        keep_schedule(&schedule, &mut u, &st, at(100), None);
        assert_eq!((u.interval_secs, u.next_due_at), (600, at(700)));
    }

    #[test]
    fn a_manual_failure_leaves_the_due_time_unless_retry_after_pushes_it() {
        let schedule = ScheduleConfig::default();
        let st = state(at(50));
        let mut u = failure_update(&schedule, &st, at(100), "HTTP 500".into(), None);
        keep_schedule(&schedule, &mut u, &st, at(100), None);
        assert_eq!((u.interval_secs, u.next_due_at), (600, at(50)));
        let ra = Some(Duration::from_secs(120));
        let mut u = failure_update(&schedule, &st, at(100), "HTTP 429".into(), ra);
        keep_schedule(&schedule, &mut u, &st, at(100), ra);
        assert_eq!(u.next_due_at, at(220));
    }
}
