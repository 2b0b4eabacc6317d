//! Work done ahead on other threads and taken in order, as reading and writing do.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `produce` on each job on another thread, at most `ahead` results before `consume`,
/// which takes them in job order. `consume` owns the receiving end, so returning early
/// (an error, Ctrl-C) drops it and the producer stops instead of waiting forever.
pub(crate) fn ahead<J, T: Send, R>(
    jobs: impl Iterator<Item = J> + Send,
    ahead: usize,
    produce: impl Fn(J) -> T + Send,
    consume: impl FnOnce(mpsc::IntoIter<T>) -> R,
) -> R {
    let (sender, receiver) = mpsc::sync_channel(ahead);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for job in jobs {
                if sender.send(produce(job)).is_err() {
                    break; // the consumer stopped
                }
            }
        });
        consume(receiver.into_iter())
    })
}

/// Runs `produce` on each job as a task of its own in rayon's pool, and hands the results
/// to `consume` in job order, while at most `ahead` later jobs are started: memory stays
/// bounded, and no thread waits for a batch to finish. `consume` runs in the pool too,
/// and while the result it needs next is not ready it runs waiting jobs itself, so the
/// pool's threads are all the threads this takes, each busy while there is work. A panic
/// in a job reaches the caller; once `consume` returns (an error, Ctrl-C), jobs not yet
/// started are skipped.
pub(crate) fn in_order<J, T, R>(
    jobs: impl Iterator<Item = J> + Send,
    ahead: usize,
    produce: impl Fn(J) -> T + Sync,
    consume: impl FnOnce(Box<dyn Iterator<Item = T> + '_>) -> R + Send,
) -> R
where
    J: Send,
    T: Send,
    R: Send,
{
    let stopped = AtomicBool::new(false);
    let (produce, stopped) = (&produce, &stopped);
    rayon::scope_fifo(|scope| {
        // Set however `consume` ends, unwinding included.
        let _stop = Stop(stopped);
        let results = InOrder {
            jobs,
            pending: VecDeque::new(),
            ahead: ahead.max(1),
            start: move |job: J| {
                let (sender, receiver) = mpsc::sync_channel(1);
                scope.spawn_fifo(move |_| {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    let made =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| produce(job)));
                    let _ = sender.send(made); // fails only once `consume` is gone
                });
                receiver
            },
        };
        consume(Box::new(results))
    })
}

/// Sets its flag when dropped.
struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

type Made<T> = mpsc::Receiver<std::thread::Result<T>>;

/// The results of [`in_order`], started `ahead` jobs ahead of the one taken.
struct InOrder<I, S, T> {
    jobs: I,
    pending: VecDeque<Made<T>>,
    ahead: usize,
    start: S,
}

impl<J, I: Iterator<Item = J>, S: FnMut(J) -> Made<T>, T> Iterator for InOrder<I, S, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        while self.pending.len() <= self.ahead {
            let Some(job) = self.jobs.next() else { break };
            self.pending.push_back((self.start)(job));
        }
        let made = self.pending.pop_front()?;
        match wait(&made) {
            Ok(result) => Some(result),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// The result of a job, running waiting jobs of the pool meanwhile: this thread is one
/// of the pool's, and blocking it would leave a core idle while there is work.
fn wait<T>(made: &Made<T>) -> std::thread::Result<T> {
    loop {
        match made.try_recv() {
            Ok(result) => return result,
            Err(mpsc::TryRecvError::Disconnected) => unreachable!("a job ends by sending"),
            Err(mpsc::TryRecvError::Empty) => {}
        }
        if rayon::yield_now() != Some(rayon::Yield::Executed) {
            // Nothing else to run: the job runs on another thread. Still look for work
            // now and then, in case it starts some.
            match made.recv_timeout(Duration::from_millis(1)) {
                Ok(result) => return result,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    unreachable!("a job ends by sending")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn results_come_in_job_order() {
        let out = in_order(
            0..200u64,
            4,
            |i| {
                // Later jobs finish first now and then.
                if i % 7 == 0 {
                    std::thread::sleep(Duration::from_micros(300));
                }
                i * 2
            },
            |results| results.collect::<Vec<_>>(),
        );
        assert_eq!(out, (0..200).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn at_most_ahead_results_wait() {
        let made = AtomicUsize::new(0);
        let most = in_order(
            0..100,
            3,
            |i| {
                made.fetch_add(1, Ordering::SeqCst);
                i
            },
            |results| {
                let mut most = 0;
                for (taken, _) in results.enumerate() {
                    std::thread::sleep(Duration::from_micros(200)); // a slow consumer
                    most = most.max(made.load(Ordering::SeqCst) - taken);
                }
                most
            },
        );
        // The one being taken, and 3 ahead of it.
        assert!(most <= 4, "{most} results made and not taken");
    }

    #[test]
    fn jobs_stop_when_the_consumer_returns() {
        let made = AtomicUsize::new(0);
        let taken = in_order(
            0..10_000,
            4,
            |i| {
                made.fetch_add(1, Ordering::SeqCst);
                i
            },
            |results| results.take(3).collect::<Vec<_>>(),
        );
        assert_eq!(taken, [0, 1, 2]);
        assert!(made.load(Ordering::SeqCst) <= 3 + 4 + 1);
        let failed: Result<(), &str> = in_order(
            0..10_000,
            2,
            |i| i,
            |mut results| results.try_for_each(|i| if i == 5 { Err("stop") } else { Ok(()) }),
        );
        assert_eq!(failed, Err("stop"));
    }

    #[test]
    fn a_panic_in_a_job_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            in_order(
                0..50,
                4,
                |i| {
                    assert_ne!(i, 17, "job 17 fails");
                    i
                },
                |results| results.count(),
            )
        });
        let panic = caught.expect_err("the panic of job 17");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("job 17 fails"), "{message}");
    }

    #[test]
    fn no_jobs_no_results() {
        let n = in_order(std::iter::empty::<u8>(), 4, |i| i, |r| r.count());
        assert_eq!(n, 0);
    }
}
