-- Failed sign-ins to an account from one client (its IPv4 address or IPv6 /56), in a
-- fixed window, where every server process sees them: behind a load balancer a client
-- gets the same few tries on an account, not that many per server. Written only when a
-- sign-in fails (app/src/auth/failed_sign_ins.rs).
create table failed_sign_ins (
    account text not null,
    client text not null,
    failures integer not null,
    window_ends text not null,
    primary key (account, client)
);

create index failed_sign_ins_window_ends on failed_sign_ins (window_ends);
