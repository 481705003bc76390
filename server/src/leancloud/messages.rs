//! Messages: `direct` (store, deduplicate, fan out, acknowledge), `ack`, receipts, `read`,
//! and patches (modify, recall).

use super::*;

impl Hub {
    pub(super) fn direct(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) -> Reply {
        let dm = cmd.direct_message.clone().unwrap_or_default();
        let cid = dm.cid.clone().unwrap_or_default();
        let conv = match self.store.conv(&cid)? {
            Some(c) if c.transient || c.members.iter().any(|m| m == peer) => c,
            _ => {
                let mut reply = self.reply_to(cmd, CommandType::Ack, None);
                reply.ack_message = Some(AckCommand {
                    code: Some(code::INVALID_MESSAGING_TARGET),
                    reason: Some("Conversation does not exist or client is not a member.".into()),
                    ..AckCommand::default()
                });
                self.send_to(conn, Some(peer), reply);
                return Ok(());
            }
        };
        let transient = dm.transient == Some(true) || conv.transient;
        let will = dm.will == Some(true);
        let dedup_key = dm
            .dt
            .clone()
            .filter(|_| !transient && !will && !self.mutant(Mutant::LcNoDedup))
            .map(|dt| (peer.to_owned(), cid.clone(), dt));
        if let Some((uid, t)) = dedup_key.as_ref().and_then(|k| self.dedup.get(k)).cloned() {
            self.ack_direct(conn, peer, cmd, uid, t);
            return Ok(());
        }
        let ts = self.store.next_ts(now_ms);
        let m = Message {
            mid: self.rng.hex(10),
            cid: cid.clone(),
            from: peer.to_owned(),
            ts,
            data: dm.msg.clone(),
            binary: dm.binary_msg.clone(),
            mention_pids: dm.mention_pids.clone(),
            mention_all: dm.mention_all == Some(true),
            receipt: dm.r == Some(true) && !transient,
            ..Message::default()
        };
        if will {
            self.wills.insert(
                peer.to_owned(),
                Will {
                    cid,
                    data: m.data,
                    binary: m.binary,
                    mention_pids: m.mention_pids,
                    mention_all: m.mention_all,
                },
            );
            self.ack_direct(conn, peer, cmd, m.mid, ts);
            return Ok(());
        }
        if !transient || self.mutant(Mutant::LcTransientStored) {
            self.store.append(&m)?;
        }
        if let Some(k) = dedup_key {
            self.remember(k, m.mid.clone(), ts);
        }
        self.ack_direct(conn, peer, cmd, m.mid.clone(), ts);
        let mut push = deliver(&m, false);
        if transient && let Some(d) = push.direct_message.as_mut() {
            d.transient = Some(true);
        }
        for member in &conv.members {
            if member == peer && self.mutant(Mutant::LcNoSelfFanout) {
                continue;
            }
            for (c, st) in self.sessions_of(member) {
                if c == conn && member == peer {
                    continue;
                }
                self.send_to(c, Some(member), push.clone());
                if !transient
                    && member != peer
                    && let Some(d) = self.devices.get_mut(&st)
                {
                    d.unacked.insert((ts, cid.clone()));
                }
            }
        }
        Ok(())
    }

    pub(super) fn ack_direct(
        &mut self,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
        uid: String,
        t: u64,
    ) {
        let mut reply = self.reply_to(cmd, CommandType::Ack, None);
        reply.ack_message = Some(AckCommand {
            uid: Some(uid).filter(|_| !self.mutant(Mutant::LcAckWithoutUid)),
            t: Some(to_i64(t)),
            ..AckCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
    }

    pub(super) fn remember(&mut self, key: (String, String, String), uid: String, t: u64) {
        if self.dedup_order.len() >= DEDUP_CAPACITY
            && let Some(old) = self.dedup_order.pop_front()
        {
            self.dedup.remove(&old);
        }
        self.dedup_order.push_back(key.clone());
        self.dedup.insert(key, (uid, t));
    }

    pub(super) fn ack(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) -> Reply {
        let am = cmd.ack_message.clone().unwrap_or_default();
        if let Some(cid) = am.cid.clone() {
            let lo = am.fromts.and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
            let hi = am
                .tots
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(lo)
                .max(lo);
            if let Some(st) = self
                .sessions
                .get(&(conn, peer.to_owned()))
                .map(|s| s.st.clone())
                && let Some(d) = self.devices.get_mut(&st)
            {
                d.unacked
                    .retain(|(ts, c)| !(*c == cid && (lo..=hi).contains(ts)));
            }
            if let Some(conv) = self.store.conv(&cid)?
                && conv.members.iter().any(|m| m == peer)
            {
                let mut cursor = self.store.cursor(peer, &cid)?;
                if hi > cursor.acked {
                    cursor.acked = hi;
                    self.store.set_cursor(peer, &cid, cursor)?;
                }
                self.receipts(now_ms, &conv, peer, lo, hi, false)?;
            }
        }
        if cmd.i.is_some() {
            let reply = self.reply_to(cmd, CommandType::Ack, None);
            self.send_to(conn, Some(peer), reply);
        }
        Ok(())
    }

    /// Marks messages of others in `lo..=hi` that asked for receipts as delivered (or read)
    /// and sends their senders one receipt naming the newest.
    pub(super) fn receipts(
        &mut self,
        now_ms: u64,
        conv: &Conv,
        peer: &str,
        lo: u64,
        hi: u64,
        read: bool,
    ) -> Reply {
        if conv.members.len() > 2 && !self.mutant(Mutant::LcReceiptInGroup) {
            return Ok(());
        }
        let mut newest: HashMap<String, Message> = HashMap::new();
        // One receipt time from the store's clock, taken only if a receipt is due: after the
        // messages it covers, and before any later message, which a client comparing
        // `lastDeliveredAt`/`lastReadAt` with timestamps would otherwise show as delivered.
        let mut at = None;
        for mut m in self.store.range(&conv.cid, lo, hi, usize::MAX, false)? {
            if m.from == peer || !m.receipt {
                continue;
            }
            if (if read { m.read_at } else { m.ack_at }).is_some() {
                continue;
            }
            let t = match at {
                Some(t) => t,
                None => *at.insert(self.store.stamp(now_ms)?),
            };
            if read {
                m.read_at = Some(t);
            }
            if m.ack_at.is_none() {
                m.ack_at = Some(t);
            }
            self.store.update(&m)?;
            newest.insert(m.from.clone(), m);
        }
        let mut senders: Vec<_> = newest.into_iter().collect();
        senders.sort_by(|a, b| a.0.cmp(&b.0));
        for (sender, m) in senders {
            let mut push = command(CommandType::Rcp, None);
            push.rcp_message = Some(RcpCommand {
                id: Some(m.mid.clone()),
                cid: Some(m.cid.clone()),
                t: at.map(to_i64),
                read: Some(read),
                from: Some(peer.to_owned()),
            });
            for (c, _) in self.sessions_of(&sender) {
                self.send_to(c, Some(&sender), push.clone());
            }
        }
        Ok(())
    }

    pub(super) fn read(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) -> Reply {
        let rm = cmd.read_message.clone().unwrap_or_default();
        let mut marks: Vec<(String, Option<i64>)> = rm
            .convs
            .iter()
            .filter_map(|t| Some((t.cid.clone()?, t.timestamp)))
            .collect();
        marks.extend(rm.cid.iter().chain(&rm.cids).map(|c| (c.clone(), None)));
        for (cid, ts) in marks {
            let Some(conv) = self.store.conv(&cid)? else {
                continue;
            };
            if !conv.members.iter().any(|m| m == peer) {
                continue;
            }
            let newest = self
                .store
                .range(&cid, 0, u64::MAX, 1, true)?
                .first()
                .map_or(0, |m| m.ts);
            let upto = ts.and_then(|t| u64::try_from(t).ok()).unwrap_or(newest);
            let mut cursor = self.store.cursor(peer, &cid)?;
            let before = cursor.read;
            if upto > cursor.read {
                cursor.read = upto;
                cursor.acked = cursor.acked.max(upto);
                self.store.set_cursor(peer, &cid, cursor)?;
            }
            self.receipts(now_ms, &conv, peer, before.min(upto), upto, true)?;
        }
        if cmd.i.is_some() {
            let reply = self.reply_to(cmd, CommandType::Read, None);
            self.send_to(conn, Some(peer), reply);
        }
        Ok(())
    }

    pub(super) fn patch(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) -> Reply {
        let pm = cmd.patch_message.clone().unwrap_or_default();
        let mut found = Vec::new();
        for item in &pm.patches {
            let by_id = match &item.mid {
                Some(mid) => self.store.message_by_id(mid)?,
                None => None,
            };
            let m = match by_id {
                Some(m) => Some(m),
                None => match (
                    &item.cid,
                    item.timestamp.and_then(|t| u64::try_from(t).ok()),
                ) {
                    (Some(cid), Some(ts)) => self.store.message(cid, ts)?,
                    _ => None,
                },
            };
            let Some(m) = m else {
                return Err(Refusal::new(code::MESSAGE_NOT_FOUND, "message not found"));
            };
            if m.from != peer && !self.mutant(Mutant::LcPatchByAnyone) {
                return Err(Refusal::new(
                    code::MESSAGE_OWNERSHIP_REQUIRED,
                    "only the sender may modify or recall a message",
                ));
            }
            found.push((m, item.clone()));
        }
        let mut last = 0;
        let mut pushes: Vec<(Conv, PatchItem)> = Vec::new();
        for (mut m, item) in found {
            let patch_ts = self.store.next_ts(now_ms);
            last = patch_ts;
            m.patch_ts = Some(patch_ts);
            if item.recall == Some(true) {
                m.recalled = true;
                if !self.mutant(Mutant::LcRecallKeepsContent) {
                    m.data = Some(RECALLED.to_owned());
                    m.binary = None;
                }
            } else {
                m.data = item.data.clone();
                m.binary = item.binary_msg.clone();
                m.mention_pids = item.mention_pids.clone();
                m.mention_all = item.mention_all == Some(true);
            }
            self.store.update(&m)?;
            if let Some(conv) = self.store.conv(&m.cid)? {
                pushes.push((conv, self.patch_item(&m)));
            }
        }
        let mut reply = self.reply_to(cmd, CommandType::Patch, Some(OpType::Modified));
        reply.patch_message = Some(PatchCommand {
            patches: Vec::new(),
            last_patch_time: Some(to_i64(last)),
        });
        self.send_to(conn, Some(peer), reply);
        for (conv, item) in pushes {
            let mut push = command(CommandType::Patch, Some(OpType::Modify));
            push.patch_message = Some(PatchCommand {
                last_patch_time: item.patch_timestamp,
                patches: vec![item],
            });
            for member in &conv.members {
                self.push_to(member, &push, conn, peer);
            }
        }
        Ok(())
    }

    pub(super) fn patch_item(&self, m: &Message) -> PatchItem {
        PatchItem {
            cid: Some(m.cid.clone()),
            mid: Some(m.mid.clone()),
            timestamp: Some(to_i64(m.ts)),
            recall: Some(m.recalled),
            data: content_data(m),
            patch_timestamp: m.patch_ts.map(to_i64),
            from: Some(m.from.clone()),
            binary_msg: content_binary(m),
            mention_all: Some(m.mention_all),
            mention_pids: m.mention_pids.clone(),
            patch_code: None,
            patch_reason: None,
        }
    }
}
