//! Who gets a connection: the accept-time checks that keep a flood of
//! untrusted or unauthenticated peers from starving a trusted scraper.
//!
//! At accept, before a peer costs a task or a buffer:
//!
//! 1. a peer outside every trusted network (when the gate has networks) is
//!    turned away;
//! 2. a peer that already holds [`per_peer`](Admission::new) connections is
//!    turned away;
//! 3. when all connections are in use, the oldest connection that has not
//!    yet made an *authorized* request is evicted to make room, so idle or
//!    dribbling connections cannot keep a scraper out; when every open
//!    connection has been authorized, the new one is turned away.
//!
//! The book is only touched by the exporter's single-threaded runtime; its
//! mutex is never contended and is there only because tasks must be `Send`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The open connections, in accept order.
pub(crate) struct Admission {
    max: usize,
    per_peer: usize,
    book: Mutex<Book>,
}

#[derive(Default)]
struct Book {
    next_id: u64,
    open: BTreeMap<u64, Entry>,
    per_peer: HashMap<IpAddr, usize>,
}

struct Entry {
    peer: IpAddr,
    ticket: Arc<TicketState>,
}

/// What a connection's task holds: whether it has been authorized, and the
/// signal that evicts it.
pub(crate) struct Ticket {
    id: u64,
    state: Arc<TicketState>,
}

#[derive(Default)]
pub(crate) struct TicketState {
    authorized: AtomicBool,
    evict: Notify,
}

impl Admission {
    pub(crate) fn new(max: usize, per_peer: usize) -> Self {
        Admission {
            max: max.max(1),
            per_peer: per_peer.max(1),
            book: Mutex::new(Book::default()),
        }
    }

    /// Admits a connection from `peer` (already past the network check),
    /// evicting an unauthorized one if that is what it takes; `None` when
    /// the peer, or everyone, is at the cap.
    pub(crate) fn admit(&self, peer: IpAddr) -> Option<Ticket> {
        let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        let held = book.per_peer.get(&peer).copied().unwrap_or(0);
        if held >= self.per_peer {
            return None;
        }
        if book.open.len() >= self.max {
            // Relaxed: a flag read on the runtime thread that set it (or, at
            // worst, a moment stale, which only picks another victim).
            let victim = book
                .open
                .iter()
                .find(|(_, e)| !e.ticket.authorized.load(Ordering::Relaxed))
                .map(|(&id, _)| id)?;
            let e = book.remove(victim).expect("victim is open");
            e.ticket.evict.notify_one();
        }
        let id = book.next_id;
        book.next_id += 1;
        let state = Arc::new(TicketState::default());
        book.open.insert(
            id,
            Entry {
                peer,
                ticket: Arc::clone(&state),
            },
        );
        *book.per_peer.entry(peer).or_insert(0) += 1;
        Some(Ticket { id, state })
    }

    /// Forgets a connection that ended (a no-op if it was evicted).
    pub(crate) fn release(&self, ticket: &Ticket) {
        let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        book.remove(ticket.id);
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.book.lock().unwrap().open.len()
    }
}

impl Book {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let e = self.open.remove(&id)?;
        if let Some(n) = self.per_peer.get_mut(&e.peer) {
            *n -= 1;
            if *n == 0 {
                self.per_peer.remove(&e.peer);
            }
        }
        Some(e)
    }
}

impl Ticket {
    /// A handle the connection's request handler keeps to call
    /// [`TicketState::authorize`].
    pub(crate) fn state(&self) -> Arc<TicketState> {
        Arc::clone(&self.state)
    }

    /// Resolves when the connection is evicted.
    pub(crate) async fn evicted(&self) {
        self.state.evict.notified().await
    }
}

impl TicketState {
    /// Marks the connection as one that made an authorized request: it is
    /// never evicted for a newcomer.
    pub(crate) fn authorize(&self) {
        // Relaxed: read by `admit` on the same runtime thread.
        self.authorized.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_peer_cap() {
        let a = Admission::new(10, 2);
        let t1 = a.admit(ip("10.0.0.1")).unwrap();
        let _t2 = a.admit(ip("10.0.0.1")).unwrap();
        assert!(a.admit(ip("10.0.0.1")).is_none());
        assert!(a.admit(ip("10.0.0.2")).is_some());
        a.release(&t1);
        assert!(a.admit(ip("10.0.0.1")).is_some());
    }

    #[test]
    fn a_full_book_evicts_the_oldest_unauthorized() {
        let a = Admission::new(3, 3);
        let old = a.admit(ip("10.0.0.1")).unwrap();
        let scraper = a.admit(ip("10.0.0.2")).unwrap();
        scraper.state().authorize();
        old.state().authorize();
        let idle = a.admit(ip("10.0.0.3")).unwrap();
        // Full: the newcomer evicts `idle`, the only unauthorized one.
        let newcomer = a.admit(ip("10.0.0.4")).unwrap();
        assert_eq!(a.open(), 3);
        a.release(&idle); // its task ends later: no double count
        assert_eq!(a.open(), 3);
        newcomer.state().authorize();
        // Everyone authorized: a further peer is refused.
        assert!(a.admit(ip("10.0.0.5")).is_none());
        a.release(&scraper);
        assert!(a.admit(ip("10.0.0.5")).is_some());
    }
}
