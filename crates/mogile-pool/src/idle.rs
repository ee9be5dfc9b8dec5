//! The idle stack: an endpoint's released connections, the most recently returned on top.
//!
//! `deadpool` opens connections, bounds them by `max_size` and makes checkouts wait when all
//! are in use. The idle ones live here rather than in `deadpool`'s queue: a checkout pops one
//! and vets it in a few lines of code ([`Manager::vet`](crate::manager::Manager::vet)), without
//! building, boxing and polling `deadpool`'s checkout future, which is most of the CPU a pooled
//! request spends on its connection. To `deadpool` a connection here is still checked out: it
//! keeps its place in `max_size`.
//!
//! That is also why a checkout waiting in `deadpool` (every connection in use) must never be
//! left waiting while one sits here. Release and wait meet in a handshake on two counters, each
//! written and then the other read with sequentially consistent atomics, so at least one side
//! sees the other:
//! - a release with a checkout waiting gives the connection to `deadpool` (dropping the
//!   `deadpool` object returns it to `deadpool`'s queue and wakes the waiter); one that pushed
//!   it here and then sees a waiter hands the top connection over the same way;
//! - a checkout that starts waiting hands over the top connection if the stack is not empty.
//!
//! `tests/waiting.rs`' `no_checkout_waits_while_a_released_connection_is_idle` fails if a
//! checkout is left waiting (it did with the handshake taken out).
//!
//! The waiting side is counted in `blocked`: checkouts waiting for a connection to come back,
//! not those connecting or probing, during which releases still go on the stack. Both sides may
//! hand one over; a connection in `deadpool`'s queue is still checked out from there (after this
//! stack is empty), so nothing is lost, only the LIFO order bent in that race.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use deadpool::managed;

use crate::Connector;
use crate::health::EndpointState;
use crate::manager::{Object, Slot};

/// An endpoint's idle connections, most recently returned last.
pub(crate) struct IdleStack<C: Connector> {
    pub(crate) state: Arc<EndpointState>,
    stack: Mutex<Vec<Object<C>>>,
    /// `stack.len()`, readable without the lock: a checkout finds an empty stack without
    /// locking it, and it is one side of the release/wait handshake.
    len: AtomicUsize,
}

impl<C: Connector> IdleStack<C> {
    pub(crate) fn new(state: Arc<EndpointState>) -> Self {
        Self {
            state,
            stack: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Object<C>>> {
        // A poisoned lock only means a panic elsewhere; the stack is whole either way (every
        // change to it is a single push, pop or swap).
        self.stack.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many connections are idle here.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }

    /// Takes the most recently returned connection, unvetted.
    pub(crate) fn pop(&self) -> Option<Object<C>> {
        // A stale zero only sends this checkout to `deadpool`, which opens or waits.
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut stack = self.lock();
        let obj = stack.pop();
        self.len.store(stack.len(), Ordering::SeqCst);
        obj
    }

    /// Puts a vetted, stamped connection back: on top of the stack, or to a waiting checkout.
    pub(crate) fn put(&self, obj: Object<C>) {
        if self.state.blocked.load(Ordering::SeqCst) > 0 {
            // Into `deadpool`'s queue, which hands it to the first waiter.
            drop(obj);
            return;
        }
        {
            let mut stack = self.lock();
            stack.push(obj);
            self.len.store(stack.len(), Ordering::SeqCst);
        }
        if self.state.blocked.load(Ordering::SeqCst) > 0 {
            self.hand_over();
        }
    }

    /// Gives the top connection, if any, to `deadpool`'s queue, which wakes a waiting checkout.
    /// A checkout calls it when it starts waiting.
    pub(crate) fn hand_over(&self) {
        if self.len.load(Ordering::SeqCst) > 0
            && let Some(obj) = self.pop()
        {
            drop(obj);
        }
    }

    /// Removes the connections `keep` refuses, in stack order, and returns them (to be closed
    /// outside the lock).
    pub(crate) fn remove_unless(
        &self,
        mut keep: impl FnMut(&Slot<C::Connection>) -> bool,
    ) -> Vec<Object<C>> {
        let mut stack = self.lock();
        let (kept, gone) = std::mem::take(&mut *stack)
            .into_iter()
            .partition(|obj| keep(obj));
        *stack = kept;
        self.len.store(stack.len(), Ordering::SeqCst);
        gone
    }

    /// Removes every connection (the pool is closing).
    pub(crate) fn drain(&self) -> Vec<Object<C>> {
        self.remove_unless(|_| false)
    }
}

/// Closes an idle connection taken off the stack and frees its place in `max_size`.
pub(crate) fn close<C: Connector>(obj: Object<C>) {
    drop(managed::Object::take(obj));
}

/// [`close`] for each.
pub(crate) fn close_all<C: Connector>(objs: Vec<Object<C>>) {
    objs.into_iter().for_each(close);
}
