//! Authentication sessions: two logins listed with this one marked, the other revoked so its
//! refresh token stops working.

use ksef_core::flow;

use super::{login_token, start};

#[tokio::test]
async fn sim_auth_sessions_mark_the_current_one_and_log_out_the_others() {
    let (sim, client) = start().await;
    let (nip, token) = (sim.demo.nip.clone(), sim.demo.ksef_token.clone());
    let other = login_token(&client, &nip, &token).await.unwrap();
    let here = login_token(&client, &nip, &token).await.unwrap();
    let access = &here.access_token.token;

    let sessions = flow::list_auth_sessions(&client, access, 5).await.unwrap();
    let current: Vec<_> = sessions.iter().filter(|s| s.is_current).collect();
    assert_eq!(current.len(), 1, "{sessions:?}");
    assert_eq!(current[0].reference_number, here.reference_number);
    assert!(
        sessions
            .iter()
            .any(|s| s.reference_number == other.reference_number && !s.is_current)
    );
    assert_eq!(current[0].status.code, 200);

    let revoked = flow::revoke_other_auth_sessions(&client, access, 5)
        .await
        .unwrap();
    assert!(revoked.contains(&other.reference_number), "{revoked:?}");
    let err = flow::refresh(&client, &other.refresh_token.token)
        .await
        .unwrap_err();
    assert!(err.needs_login(), "{err:?}");
    flow::refresh(&client, &here.refresh_token.token)
        .await
        .expect("this browser's session stays");

    let left = flow::list_auth_sessions(&client, access, 5).await.unwrap();
    assert_eq!(
        left.iter()
            .map(|s| s.reference_number.as_str())
            .collect::<Vec<_>>(),
        [here.reference_number.as_str()]
    );
    sim.shutdown().await;
}
