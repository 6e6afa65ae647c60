-- A trusted issuer's user (no password here) holds their address unless the issuer said
-- `emailVerified: false`, in which case a sign-up with that address takes it
-- (`auth::repo::insert_user`). Until now every such account was made with
-- `email_verified = 0` whatever the issuer said, so none of them can be told apart: they
-- keep holding their addresses, as they did when they were made.
update users set email_verified = 1 where password_hash = '' and email_verified = 0;
