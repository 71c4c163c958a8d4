//! The call state machine: who is ringing, who is in, and when the call ends. Pure (no I/O, no
//! clock): the room actor feeds it events with their time and carries out what it answers.
//!
//! ```text
//!   start ──► Ringing ──join (a callee)──► Live ──last leaves──► Ended(answered)
//!               │  │                        ▲ │
//!               │  │                        │ └─ 1:1: fewer than 2 left ─► Ended(answered)
//!               │  │                        └─ group: more join / rejoin
//!               │  ├─ caller hangs up / leaves ───────► Ended(cancelled)
//!               │  ├─ decline (1:1, or every callee) ─► Ended(declined)
//!               │  └─ ring timeout ───────────────────► Ended(missed)
//!               └─ (busy: refused before ringing, recorded as Ended(busy))
//! ```

use std::collections::{BTreeMap, BTreeSet};

use confab_engine::model::{CallKind, CallOutcome, CallParticipant, CallRecord, Millis};
use uuid::Uuid;

/// One device in the call (one SFU peer connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub user: Uuid,
    /// The WebSocket connection it signals over.
    pub conn: u64,
    pub joined_at: Millis,
    /// Its socket closed at this time: it may rejoin until the grace period ends.
    pub away_since: Option<Millis>,
    pub muted: bool,
    pub camera: bool,
}

/// Why an event is refused; the call is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The call is over.
    Ended,
    /// This user is not ringing (decline) or not in the call (hang up, media, answer).
    NotInCall,
    /// This user already has a connected device in the call.
    AlreadyJoined,
    /// Not one of the two people of a 1:1 call.
    NotInvited,
}

/// What the room does after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Continue,
    End(CallOutcome),
}

/// The result of a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The user's earlier (away) device this join replaces: remove it from the SFU.
    pub replaced: Option<Uuid>,
    /// This join answered the call.
    pub answered: bool,
    /// The user was ringing: their other devices stop.
    pub was_ringing: bool,
}

#[derive(Debug, Clone)]
pub struct CallState {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub kind: CallKind,
    /// 1:1 chat (ends when fewer than two remain) or group (ends when nobody remains).
    pub direct: bool,
    pub initiator: Uuid,
    /// Everyone the call rang.
    pub invited: Vec<Uuid>,
    ringing: BTreeSet<Uuid>,
    participants: BTreeMap<Uuid, Participant>,
    stays: Vec<CallParticipant>,
    pub started_at: Millis,
    pub answered_at: Option<Millis>,
    pub ended: Option<CallOutcome>,
}

impl CallState {
    /// A call that rings `invited` (the caller joins with [`CallState::join`] right after).
    pub fn new(
        id: Uuid,
        chat_id: Uuid,
        kind: CallKind,
        direct: bool,
        initiator: Uuid,
        invited: Vec<Uuid>,
        now: Millis,
    ) -> Self {
        CallState {
            id,
            chat_id,
            kind,
            direct,
            initiator,
            ringing: invited.iter().copied().collect(),
            invited,
            participants: BTreeMap::new(),
            stays: Vec::new(),
            started_at: now,
            answered_at: None,
            ended: None,
        }
    }

    pub fn participants(&self) -> impl Iterator<Item = (&Uuid, &Participant)> {
        self.participants.iter()
    }

    pub fn participant(&self, pid: Uuid) -> Option<&Participant> {
        self.participants.get(&pid)
    }

    pub fn ringing(&self) -> impl Iterator<Item = &Uuid> {
        self.ringing.iter()
    }

    pub fn is_ringing(&self, user: Uuid) -> bool {
        self.ringing.contains(&user)
    }

    /// The participant signalling over connection `conn`.
    pub fn by_conn(&self, conn: u64) -> Option<Uuid> {
        self.participants
            .iter()
            .find(|(_, p)| p.conn == conn)
            .map(|(pid, _)| *pid)
    }

    /// Whether `user` may join now (the SFU join happens between this and [`join`]).
    pub fn check_join(&self, user: Uuid) -> Result<(), Refusal> {
        if self.ended.is_some() {
            return Err(Refusal::Ended);
        }
        if self.direct && user != self.initiator && !self.invited.contains(&user) {
            return Err(Refusal::NotInvited);
        }
        if self
            .participants
            .values()
            .any(|p| p.user == user && p.away_since.is_none())
        {
            return Err(Refusal::AlreadyJoined);
        }
        Ok(())
    }

    pub fn join(
        &mut self,
        pid: Uuid,
        user: Uuid,
        conn: u64,
        now: Millis,
    ) -> Result<Joined, Refusal> {
        self.check_join(user)?;
        let replaced = self
            .participants
            .iter()
            .find(|(_, p)| p.user == user)
            .map(|(pid, _)| *pid);
        let mut carried = (false, self.kind == CallKind::Video);
        if let Some(old) = replaced {
            if let Some(p) = self.remove(old, now) {
                carried = (p.muted, p.camera);
            }
        }
        let answered = user != self.initiator && self.answered_at.is_none();
        if answered {
            self.answered_at = Some(now);
        }
        let was_ringing = self.ringing.remove(&user);
        self.participants.insert(
            pid,
            Participant {
                user,
                conn,
                joined_at: now,
                away_since: None,
                muted: carried.0,
                camera: carried.1,
            },
        );
        Ok(Joined {
            replaced,
            answered,
            was_ringing,
        })
    }

    /// `user` declines on one device: all their devices stop ringing.
    pub fn decline(&mut self, user: Uuid) -> Result<Step, Refusal> {
        if self.ended.is_some() {
            return Err(Refusal::Ended);
        }
        if !self.ringing.remove(&user) {
            return Err(Refusal::NotInCall);
        }
        if self.answered_at.is_some() {
            return Ok(Step::Continue);
        }
        if self.direct || self.ringing.is_empty() {
            return Ok(self.end(CallOutcome::Declined));
        }
        Ok(Step::Continue)
    }

    /// `user` hangs up on connection `conn`: the caller before any answer cancels the call;
    /// anybody else leaves. Returns the participant removed, if any.
    pub fn hang_up(
        &mut self,
        user: Uuid,
        conn: u64,
        now: Millis,
    ) -> Result<(Option<Uuid>, Step), Refusal> {
        if self.ended.is_some() {
            return Err(Refusal::Ended);
        }
        let pid = self
            .participants
            .iter()
            .find(|(_, p)| p.user == user && p.conn == conn)
            .or_else(|| self.participants.iter().find(|(_, p)| p.user == user))
            .map(|(pid, _)| *pid);
        let Some(pid) = pid else {
            return Err(Refusal::NotInCall);
        };
        Ok((Some(pid), self.leave(pid, now)))
    }

    /// Removes a participant (hung up, grace over, media failed) and says whether the call
    /// goes on.
    pub fn leave(&mut self, pid: Uuid, now: Millis) -> Step {
        if self.ended.is_some() {
            return Step::Continue;
        }
        let Some(gone) = self.remove(pid, now) else {
            return Step::Continue;
        };
        if self.answered_at.is_none() {
            if gone.user == self.initiator {
                return self.end(CallOutcome::Cancelled);
            }
            return Step::Continue;
        }
        let remaining = self.participants.len();
        if remaining == 0 || (self.direct && remaining < 2) {
            return self.end(CallOutcome::Answered);
        }
        Step::Continue
    }

    /// The socket of connection `conn` closed: its participant is away (grace period).
    pub fn away(&mut self, conn: u64, now: Millis) -> Option<Uuid> {
        let (pid, p) = self.participants.iter_mut().find(|(_, p)| p.conn == conn)?;
        p.away_since.get_or_insert(now);
        Some(*pid)
    }

    /// The grace period of `pid` ran out: removed if it is still away.
    pub fn grace_over(&mut self, pid: Uuid, now: Millis) -> Step {
        match self.participants.get(&pid) {
            Some(p) if p.away_since.is_some() => self.leave(pid, now),
            _ => Step::Continue,
        }
    }

    /// The ring timeout: whoever still rings missed it. Returns them; the call ends missed if
    /// nobody answered.
    pub fn ring_timeout(&mut self) -> (Vec<Uuid>, Step) {
        if self.ended.is_some() {
            return (Vec::new(), Step::Continue);
        }
        let missed: Vec<Uuid> = std::mem::take(&mut self.ringing).into_iter().collect();
        if self.answered_at.is_none() {
            return (missed, self.end(CallOutcome::Missed));
        }
        (missed, Step::Continue)
    }

    /// Sets the participant's mute/camera state; `None` keeps a field.
    pub fn media(
        &mut self,
        pid: Uuid,
        muted: Option<bool>,
        camera: Option<bool>,
    ) -> Option<&Participant> {
        let p = self.participants.get_mut(&pid)?;
        if let Some(m) = muted {
            p.muted = m;
        }
        if let Some(c) = camera {
            p.camera = c;
        }
        Some(p)
    }

    /// Ends the call now (shutdown, SFU failure) unless it is over already.
    pub fn end(&mut self, outcome: CallOutcome) -> Step {
        if self.ended.is_none() {
            self.ended = Some(outcome);
            self.ringing.clear();
        }
        Step::End(self.ended.unwrap_or(outcome))
    }

    fn remove(&mut self, pid: Uuid, now: Millis) -> Option<Participant> {
        let p = self.participants.remove(&pid)?;
        self.stays.push(CallParticipant {
            user_id: p.user,
            joined_at: p.joined_at,
            // An away participant left when its socket closed.
            left_at: p.away_since.unwrap_or(now),
        });
        Some(p)
    }

    /// The history record of the ended call; whoever is still in leaves now.
    pub fn record(&mut self, now: Millis) -> CallRecord {
        let pids: Vec<Uuid> = self.participants.keys().copied().collect();
        for pid in pids {
            self.remove(pid, now);
        }
        let outcome = self.ended.unwrap_or(CallOutcome::Failed);
        let ended_at = self
            .stays
            .iter()
            .map(|s| s.left_at)
            .max()
            .unwrap_or(now)
            .max(self.started_at);
        let mut invited = self.invited.clone();
        invited.push(self.initiator);
        CallRecord {
            id: self.id,
            chat_id: self.chat_id,
            kind: self.kind,
            initiator: self.initiator,
            invited,
            participants: self.stays.clone(),
            started_at: self.started_at,
            answered_at: self.answered_at,
            ended_at: if self.answered_at.is_some() {
                ended_at
            } else {
                now
            },
            duration_ms: self.answered_at.map_or(0, |a| (ended_at - a).max(0)),
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Millis = 1_000_000;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    fn call(direct: bool, invited: &[Uuid], caller: Uuid) -> CallState {
        let mut c = CallState::new(
            Uuid::new_v4(),
            Uuid::new_v4(),
            CallKind::Voice,
            direct,
            caller,
            invited.to_vec(),
            T,
        );
        c.join(Uuid::new_v4(), caller, 1, T).unwrap();
        c
    }

    #[test]
    fn one_to_one_answered_then_hang_up_records_talk_time() {
        let u = ids(2);
        let mut c = call(true, &[u[1]], u[0]);
        assert!(c.is_ringing(u[1]));
        let j = c.join(Uuid::new_v4(), u[1], 2, T + 3_000).unwrap();
        assert!(j.answered && j.was_ringing && j.replaced.is_none());
        assert!(!c.is_ringing(u[1]));
        let (gone, step) = c.hang_up(u[1], 2, T + 13_000).unwrap();
        assert!(gone.is_some());
        assert_eq!(step, Step::End(CallOutcome::Answered));
        let r = c.record(T + 13_000);
        assert_eq!(r.outcome, CallOutcome::Answered);
        assert_eq!(r.duration_ms, 10_000);
        assert_eq!(r.participants.len(), 2);
        assert_eq!(r.ended_at, T + 13_000);
        assert!(r.invited.contains(&u[0]) && r.invited.contains(&u[1]));
        assert_eq!(c.hang_up(u[0], 1, T), Err(Refusal::Ended));
    }

    #[test]
    fn one_to_one_decline_cancel_and_timeout() {
        let u = ids(2);
        let mut c = call(true, &[u[1]], u[0]);
        assert_eq!(c.decline(u[1]), Ok(Step::End(CallOutcome::Declined)));
        assert_eq!(c.record(T + 1).duration_ms, 0);

        let mut c = call(true, &[u[1]], u[0]);
        assert_eq!(
            c.hang_up(u[0], 1, T + 5).unwrap().1,
            Step::End(CallOutcome::Cancelled)
        );
        assert_eq!(c.check_join(u[1]), Err(Refusal::Ended));

        let mut c = call(true, &[u[1]], u[0]);
        let (missed, step) = c.ring_timeout();
        assert_eq!(missed, vec![u[1]]);
        assert_eq!(step, Step::End(CallOutcome::Missed));
        assert_eq!(c.record(T + 45_000).outcome, CallOutcome::Missed);
    }

    #[test]
    fn strangers_cannot_join_a_one_to_one_call_and_nobody_joins_twice() {
        let u = ids(3);
        let mut c = call(true, &[u[1]], u[0]);
        assert_eq!(c.check_join(u[2]), Err(Refusal::NotInvited));
        assert_eq!(c.check_join(u[0]), Err(Refusal::AlreadyJoined));
        assert_eq!(c.decline(u[2]), Err(Refusal::NotInCall));
    }

    #[test]
    fn group_goes_on_until_the_last_leaves_and_late_joiners_come_in() {
        let u = ids(4);
        let mut c = call(false, &u[1..], u[0]);
        assert_eq!(c.decline(u[3]), Ok(Step::Continue));
        c.join(Uuid::new_v4(), u[1], 2, T + 10).unwrap();
        let (missed, step) = c.ring_timeout();
        assert_eq!(missed, vec![u[2]].into_iter().collect::<Vec<_>>());
        assert_eq!(step, Step::Continue, "answered: the call goes on");
        // Someone who missed the ring joins later.
        c.join(Uuid::new_v4(), u[2], 3, T + 20).unwrap();
        assert_eq!(c.hang_up(u[0], 1, T + 30).unwrap().1, Step::Continue);
        assert_eq!(c.hang_up(u[1], 2, T + 40).unwrap().1, Step::Continue);
        assert_eq!(
            c.hang_up(u[2], 3, T + 50).unwrap().1,
            Step::End(CallOutcome::Answered)
        );
        assert_eq!(c.record(T + 50).duration_ms, 40);
    }

    #[test]
    fn group_declined_by_everyone() {
        let u = ids(3);
        let mut c = call(false, &u[1..], u[0]);
        assert_eq!(c.decline(u[1]), Ok(Step::Continue));
        assert_eq!(c.decline(u[2]), Ok(Step::End(CallOutcome::Declined)));
    }

    #[test]
    fn away_participant_rejoins_within_grace_or_is_removed() {
        let u = ids(2);
        let mut c = call(true, &[u[1]], u[0]);
        let first = Uuid::new_v4();
        c.join(first, u[1], 2, T).unwrap();
        c.media(first, Some(true), None);
        assert_eq!(c.away(2, T + 100), Some(first));
        assert_eq!(c.check_join(u[1]), Ok(()), "away: may come back");
        let second = Uuid::new_v4();
        let j = c.join(second, u[1], 5, T + 200).unwrap();
        assert_eq!(j.replaced, Some(first));
        assert!(!j.answered);
        assert!(c.participant(second).unwrap().muted, "state carried over");
        assert_eq!(c.grace_over(first, T + 15_000), Step::Continue);
        assert_eq!(c.grace_over(second, T + 15_000), Step::Continue, "not away");
        c.away(5, T + 20_000);
        assert_eq!(
            c.grace_over(second, T + 35_000),
            Step::End(CallOutcome::Answered)
        );
        let r = c.record(T + 35_000);
        let last = r
            .participants
            .iter()
            .find(|s| s.user_id == u[1] && s.joined_at == T + 200);
        assert_eq!(
            last.unwrap().left_at,
            T + 20_000,
            "left when the socket closed"
        );
    }
}
