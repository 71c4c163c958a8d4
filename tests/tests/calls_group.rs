//! Group calls and reconnection against the real binary with real WebRTC peers on loopback.

use std::time::Duration;

use confab_tests::calls::*;
use confab_tests::ws::*;
use confab_tests::*;

fn pid(d: &Device) -> String {
    d.participant_id.clone().expect("joined")
}

#[test]
fn group_call_forwards_everyone_to_everyone_and_follows_leaves_and_late_joins() {
    let s = call_server(&[]);
    let rt = runtime();
    let users: Vec<Account> = (0..4)
        .map(|i| register_account(&s, &format!("g{i}u{}", unique())))
        .collect();
    let others: Vec<&str> = users[1..].iter().map(|u| u.user_id.as_str()).collect();
    let chat = create_group(&s, &users[0], "standup", &others);
    let mut d: Vec<Device> = users
        .iter()
        .map(|u| Device::connect(&s, u, &rt, true))
        .collect();

    let call = d[0].start(&chat, "video")["call_id"].clone();
    let call_id = call.as_str().unwrap().to_string();
    for device in d.iter_mut().skip(1) {
        let ring = device.next_in(&call, "call_incoming");
        assert_eq!(ring["kind"], "video", "{ring}");
    }
    // Two answer; the fourth lets it ring.
    d[1].join(&call_id);
    d[2].join(&call_id);
    for (i, j) in [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)] {
        let (from_pid, from_user) = (pid(&d[j]), users[j].user_id.clone());
        d[i].expect_media(&from_pid, &from_user, "audio", 10);
        d[i].expect_media(&from_pid, &from_user, "video", 10);
    }

    // One leaves: the others' tracks from it end, the call goes on.
    let gone = pid(&d[1]);
    let ok = d[1].request("call_hangup", json!({"call_id": call_id}));
    assert_eq!(ok["type"], "ok", "{ok}");
    for i in [0, 2] {
        let left = d[i].next_in(&call, "call_participant_left");
        assert_eq!(left["participant_id"], json!(gone), "{left}");
        assert_eq!(left["reason"], "left", "{left}");
        d[i].expect_track_ended(&gone, "audio");
        d[i].expect_track_ended(&gone, "video");
    }
    d[1].close_peer();

    // A fourth joins mid-call and receives everyone; everyone receives it.
    let joined = d[3].join(&call_id);
    assert_eq!(
        joined["participants"].as_array().unwrap().len(),
        2,
        "{joined}"
    );
    for j in [0, 2] {
        let (from_pid, from_user) = (pid(&d[j]), users[j].user_id.clone());
        d[3].expect_media(&from_pid, &from_user, "audio", 10);
        d[3].expect_media(&from_pid, &from_user, "video", 10);
    }
    let (late_pid, late_user) = (pid(&d[3]), users[3].user_id.clone());
    for i in [0, 2] {
        d[i].expect_media(&late_pid, &late_user, "video", 10);
    }

    // Camera off is broadcast.
    d[3].request("call_media", json!({"call_id": call_id, "camera": false}));
    for i in [0, 2] {
        let m = d[i].next_in(&call, "call_media");
        assert_eq!(m["participant_id"], json!(late_pid), "{m}");
        assert_eq!(m["camera"], false, "{m}");
    }

    // The call ends when the last one leaves.
    for i in [0, 2, 3] {
        d[i].request("call_hangup", json!({"call_id": call_id}));
    }
    let ended = d[1].next_in(&call, "call_ended");
    assert_eq!(ended["outcome"], "answered", "{ended}");
    let r = s.get("/api/calls", Some(&users[3].access));
    let mut tries = 0;
    let mut r = r;
    while r.json["items"].as_array().is_none_or(|a| a.is_empty()) && tries < 50 {
        std::thread::sleep(Duration::from_millis(100));
        r = s.get("/api/calls", Some(&users[3].access));
        tries += 1;
    }
    let rec = &r.json["items"][0];
    assert_eq!(rec["call_id"], call, "{r}");
    let stays = rec["participants"].as_array().unwrap();
    assert_eq!(stays.len(), 4, "one stay per participant: {rec}");
}

#[test]
fn a_dropped_socket_may_rejoin_within_the_grace_period_and_is_removed_after_it() {
    let s = call_server(&[("CONFAB_CALLS_RECONNECT_GRACE_SECS", "3")]);
    let rt = runtime();
    let users: Vec<Account> = (0..3)
        .map(|i| register_account(&s, &format!("r{i}u{}", unique())))
        .collect();
    let others: Vec<&str> = users[1..].iter().map(|u| u.user_id.as_str()).collect();
    let chat = create_group(&s, &users[0], "flaky", &others);
    let mut d: Vec<Device> = users
        .iter()
        .map(|u| Device::connect(&s, u, &rt, false))
        .collect();
    let call = d[0].start(&chat, "voice")["call_id"].clone();
    let call_id = call.as_str().unwrap().to_string();
    d[1].next_in(&call, "call_incoming");
    d[1].join(&call_id);
    d[2].next_in(&call, "call_incoming");
    d[2].join(&call_id);
    let first = pid(&d[1]);
    d[0].expect_media(&first, &users[1].user_id, "audio", 5);

    // User 1's socket drops; within the grace period it comes back with a new offer.
    d[1].close_peer();
    let old_ws = std::mem::replace(&mut d[1].ws, connect_as(&s, &users[1]));
    drop(old_ws);
    std::thread::sleep(Duration::from_millis(500));
    d[1].new_peer();
    d[1].join(&call_id);
    let second = pid(&d[1]);
    assert_ne!(first, second, "a new participant id for the new connection");
    let left = d[0].next_in(&call, "call_participant_left");
    assert_eq!(left["participant_id"], json!(first), "{left}");
    assert_eq!(left["reason"], "reconnected", "{left}");
    d[0].expect_media(&second, &users[1].user_id, "audio", 5);
    let caller = pid(&d[0]);
    d[1].expect_media(&caller, &users[0].user_id, "audio", 5);

    // User 2's socket drops and it does not come back: removed after the grace period.
    let gone = pid(&d[2]);
    d[2].close_peer();
    let old_ws = std::mem::replace(&mut d[2].ws, connect_as(&s, &users[2]));
    drop(old_ws);
    let left = d[0].next_where("participant removed", Duration::from_secs(15), &|v| {
        v["type"] == "call_participant_left" && v["reason"] == "dropped"
    });
    assert_eq!(left["participant_id"], json!(gone), "{left}");
    d[0].expect_track_ended(&gone, "audio");
    // The call goes on for the others.
    d[0].expect_media(&second, &users[1].user_id, "audio", 10);
    d[1].request("call_hangup", json!({"call_id": call_id}));
    d[0].request("call_hangup", json!({"call_id": call_id}));
    let ended = d[2].next_in(&call, "call_ended");
    assert_eq!(ended["outcome"], "answered", "{ended}");
}
