//! Work done ahead on another thread and taken in order, as reading and writing do.

use std::sync::mpsc;

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
