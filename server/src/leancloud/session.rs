//! Sessions: `session/open` (tags, reconnects, devices and redelivery, the unread and
//! offline pushes, the patch sync), `session/close` and `session/query`, a connection's end
//! and will messages.

use super::*;

impl Hub {
    pub(super) fn open(&mut self, now_ms: u64, conn: ConnId, cmd: &GenericCommand) -> Reply {
        let peer = cmd.peer_id.clone().unwrap_or_default();
        if peer.is_empty() || peer.len() > 64 {
            return Err(Refusal::new(code::INVALID_LOGIN, "invalid peerId"));
        }
        if !self.conns.contains_key(&conn) {
            return Ok(());
        }
        let sm = cmd.session_message.clone().unwrap_or_default();
        let reconnect = sm.r == Some(true);
        // A reconnect presenting a token resumes that device.
        let resumed = sm
            .st
            .as_ref()
            .filter(|st| self.devices.get(*st).is_some_and(|d| d.peer == peer))
            .cloned()
            .filter(|_| reconnect);
        let tag = sm.tag.clone().filter(|t| !t.is_empty()).or_else(|| {
            resumed
                .as_ref()
                .and_then(|st| self.devices.get(st)?.tag.clone())
        });
        // Re-opening on the same socket replaces that session quietly.
        if self.sessions.contains_key(&(conn, peer.clone())) {
            self.drop_session(conn, &peer);
        }
        if let Some(tag) = &tag {
            let rivals: Vec<ConnId> = self
                .sessions
                .iter()
                .filter(|((_, p), s)| *p == peer && s.tag.as_deref() == Some(tag))
                .map(|((c, _), _)| *c)
                .collect();
            if !rivals.is_empty() {
                if reconnect && !self.mutant(Mutant::LcReconnectKicksOld) {
                    return Err(Refusal::new(
                        code::SESSION_CONFLICT,
                        "session conflict: another device holds this tag",
                    ));
                }
                if !self.mutant(Mutant::LcNoConflictClose) {
                    for rival in rivals {
                        let mut closed = command(CommandType::Session, Some(OpType::Closed));
                        closed.session_message = Some(SessionCommand {
                            code: Some(code::SESSION_CONFLICT),
                            reason: Some("logged in on another device".into()),
                            ..SessionCommand::default()
                        });
                        self.send_to(rival, Some(&peer), closed);
                        self.drop_session(rival, &peer);
                    }
                }
            }
        }
        let st = match &resumed {
            Some(st) => st.clone(),
            None => {
                let st = self.rng.hex(16);
                self.forget_devices();
                self.devices.insert(
                    st.clone(),
                    Device {
                        peer: peer.clone(),
                        tag: tag.clone(),
                        unacked: BTreeSet::new(),
                    },
                );
                st
            }
        };
        if let Some(d) = self.devices.get_mut(&st) {
            d.tag.clone_from(&tag);
        }
        self.sessions.insert(
            (conn, peer.clone()),
            Session {
                tag,
                st: st.clone(),
            },
        );
        let version = match self.conns.get_mut(&conn) {
            Some(c) => {
                c.peers.push(peer.clone());
                c.proto.version
            }
            None => return Ok(()),
        };
        let mut reply = self.reply_to(cmd, CommandType::Session, Some(OpType::Opened));
        reply.server_ts = Some(to_i64(now_ms));
        reply.session_message = Some(SessionCommand {
            st: Some(st.clone()),
            st_ttl: Some(SESSION_TTL_S),
            ..SessionCommand::default()
        });
        self.send_to(conn, Some(&peer), reply);

        let mut pushed = BTreeSet::new();
        if resumed.is_some() && !self.mutant(Mutant::LcNoRedelivery) {
            let pending: Vec<(u64, String)> = self
                .devices
                .get(&st)
                .map(|d| d.unacked.iter().cloned().collect())
                .unwrap_or_default();
            for (ts, cid) in pending {
                if let Some(m) = self.store.message(&cid, ts)? {
                    self.send_to(conn, Some(&peer), deliver(&m, false));
                    pushed.insert((ts, cid));
                }
            }
        }
        match version {
            Version::V3 => self.send_unread(now_ms, conn, &peer, sm.last_unread_notif_time)?,
            Version::V1 => self.push_offline(conn, &peer, &st, &pushed)?,
        }
        if let Some(since) = sm.last_patch_time.and_then(|t| u64::try_from(t).ok()) {
            self.sync_patches(conn, &peer, since)?;
        }
        Ok(())
    }

    pub(super) fn send_unread(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        last_notif: Option<i64>,
    ) -> Reply {
        let since = last_notif.and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
        let since = if self.mutant(Mutant::LcUnreadIgnoresLastNotif) {
            0
        } else {
            since
        };
        let mut tuples = Vec::new();
        for cid in self.store.conversations_of(peer)? {
            let cursor = self.store.cursor(peer, &cid)?;
            let msgs = self.store.range(
                &cid,
                cursor.read.saturating_add(1),
                u64::MAX,
                usize::MAX,
                false,
            )?;
            let theirs: Vec<&Message> = msgs.iter().filter(|m| m.from != peer).collect();
            let Some(last) = theirs.last() else { continue };
            let newest = msgs.last().map_or(0, |m| m.ts.max(m.patch_ts.unwrap_or(0)));
            if newest <= since {
                continue;
            }
            let mentioned = theirs.iter().any(|m| m.mentions(peer))
                && !self.mutant(Mutant::LcUnreadNoMentioned);
            let unread = i32::try_from(theirs.len()).unwrap_or(i32::MAX);
            tuples.push((
                last.ts,
                UnreadTuple {
                    cid: Some(cid.clone()),
                    unread: Some(unread),
                    mid: Some(last.mid.clone()),
                    timestamp: Some(to_i64(last.ts)),
                    from: Some(last.from.clone()),
                    data: content_data(last),
                    binary_msg: content_binary(last),
                    patch_timestamp: last.patch_ts.map(to_i64),
                    mentioned: Some(mentioned),
                    conv_type: None,
                },
            ));
        }
        if tuples.is_empty() {
            return Ok(());
        }
        tuples.sort_by_key(|t| std::cmp::Reverse(t.0));
        tuples.truncate(MAX_UNREAD_CONVS);
        // From the store's clock: after every message it covers (their timestamps run ahead
        // of the wall clock when several arrive within one millisecond) and before every
        // message still to come, which must be listed at a login with this notifTime.
        let notif = self.store.stamp(now_ms)?;
        let mut push = command(CommandType::Unread, None);
        push.unread_message = Some(UnreadCommand {
            convs: tuples.into_iter().map(|(_, t)| t).collect(),
            notif_time: Some(to_i64(notif)),
        });
        self.send_to(conn, Some(peer), push);
        Ok(())
    }

    /// Version 1: push what the member has not acknowledged, at most 20 per conversation.
    pub(super) fn push_offline(
        &mut self,
        conn: ConnId,
        peer: &str,
        st: &str,
        already: &BTreeSet<(u64, String)>,
    ) -> Reply {
        let cap = if self.mutant(Mutant::LcOfflinePushUnbounded) {
            usize::MAX
        } else {
            MAX_OFFLINE_PER_CONV
        };
        for cid in self.store.conversations_of(peer)? {
            let cursor = self.store.cursor(peer, &cid)?;
            let msgs = self.store.range(
                &cid,
                cursor.acked.saturating_add(1),
                u64::MAX,
                usize::MAX,
                false,
            )?;
            let theirs: Vec<Message> = msgs.into_iter().filter(|m| m.from != peer).collect();
            let skip = theirs.len().saturating_sub(cap);
            for m in theirs.into_iter().skip(skip) {
                if already.contains(&(m.ts, m.cid.clone())) {
                    continue;
                }
                self.send_to(conn, Some(peer), deliver(&m, true));
                if let Some(d) = self.devices.get_mut(st) {
                    d.unacked.insert((m.ts, m.cid.clone()));
                }
            }
        }
        Ok(())
    }

    pub(super) fn sync_patches(&mut self, conn: ConnId, peer: &str, since: u64) -> Reply {
        let mine: BTreeSet<String> = self.store.conversations_of(peer)?.into_iter().collect();
        let mut items = Vec::new();
        let mut last = since;
        for (cid, ts) in self.store.patches_since(since)? {
            if !mine.contains(&cid) {
                continue;
            }
            if let Some(m) = self.store.message(&cid, ts)?
                && let Some(p) = m.patch_ts.filter(|p| *p > since)
            {
                last = last.max(p);
                items.push(self.patch_item(&m));
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        let mut push = command(CommandType::Patch, Some(OpType::Modify));
        push.patch_message = Some(PatchCommand {
            patches: items,
            last_patch_time: Some(to_i64(last)),
        });
        self.send_to(conn, Some(peer), push);
        Ok(())
    }

    /// Bounds the device table: past [`MAX_DEVICES`], devices without a live session are
    /// forgotten (their token then opens a fresh device).
    pub(super) fn forget_devices(&mut self) {
        if self.devices.len() < MAX_DEVICES {
            return;
        }
        let live: BTreeSet<&String> = self.sessions.values().map(|s| &s.st).collect();
        let idle: Vec<String> = self
            .devices
            .keys()
            .filter(|st| !live.contains(st))
            .take(self.devices.len() / 2 + 1)
            .cloned()
            .collect();
        for st in idle {
            self.devices.remove(&st);
        }
    }

    pub(super) fn close_session(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) {
        let reply = self.reply_to(cmd, CommandType::Session, Some(OpType::Closed));
        self.send_to(conn, Some(peer), reply);
        self.drop_session(conn, peer);
        if self.mutant(Mutant::LcWillOnLogout) {
            self.fire_will(now_ms, peer);
        }
        self.wills.remove(peer);
    }

    pub(super) fn session_query(
        &mut self,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) -> Reply {
        let asked = cmd
            .session_message
            .as_ref()
            .map(|s| s.session_peer_ids.clone())
            .unwrap_or_default();
        let online: Vec<String> = asked
            .into_iter()
            .take(20)
            .filter(|p| self.is_online(p))
            .collect();
        let mut reply = self.reply_to(cmd, CommandType::Session, Some(OpType::QueryResult));
        reply.session_message = Some(SessionCommand {
            online_session_peer_ids: online,
            ..SessionCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }

    pub(super) fn drop_session(&mut self, conn: ConnId, peer: &str) {
        self.sessions.remove(&(conn, peer.to_owned()));
        if let Some(c) = self.conns.get_mut(&conn) {
            c.peers.retain(|p| p != peer);
        }
    }

    pub(super) fn on_closed(&mut self, now_ms: u64, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        for peer in c.peers {
            self.sessions.remove(&(conn, peer.clone()));
            if !self.is_online(&peer) {
                self.fire_will(now_ms, &peer);
            }
        }
    }

    pub(super) fn is_online(&self, peer: &str) -> bool {
        self.sessions.keys().any(|(_, p)| p == peer)
    }

    /// The live sessions of `peer`: (connection, token).
    pub(super) fn sessions_of(&self, peer: &str) -> Vec<(ConnId, String)> {
        let mut v: Vec<(ConnId, String)> = self
            .sessions
            .iter()
            .filter(|((_, p), _)| p == peer)
            .map(|((c, _), s)| (*c, s.st.clone()))
            .collect();
        v.sort();
        v
    }

    pub(super) fn fire_will(&mut self, now_ms: u64, peer: &str) {
        let Some(will) = self.wills.remove(peer) else {
            return;
        };
        let Ok(Some(conv)) = self.store.conv(&will.cid) else {
            return;
        };
        let Ok(ts) = self.store.stamp(now_ms) else {
            return;
        };
        let m = Message {
            mid: self.rng.hex(10),
            cid: will.cid,
            from: peer.to_owned(),
            ts,
            data: will.data,
            binary: will.binary,
            mention_pids: will.mention_pids,
            mention_all: will.mention_all,
            ..Message::default()
        };
        let push = deliver(&m, false);
        for member in conv.members.iter().filter(|m| *m != peer) {
            for (c, _) in self.sessions_of(member) {
                self.send_to(c, Some(member), push.clone());
            }
        }
    }
}
