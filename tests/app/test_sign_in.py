"""Who gets in, and which pages each role's navigation holds (pages a role may not use do not exist for it)."""

from __future__ import annotations

import pytest


ADMIN_PAGES = ["label", "progress", "setup", "export", "people", "projects"]
LABELLER_PAGES = ["label", "progress"]


def page_reachable(at, page: str) -> bool:
    try:
        at.switch_page(f"pages/{page}.py")
    except ValueError:  # AppTest: "Could not find a navigation page" — not in this session's st.navigation
        return False
    return True


def test_local_mode_makes_the_local_user_admin_with_a_banner(app, store):
    at = app().run()
    assert not at.exception
    assert any("Local mode" in w.value for w in at.warning)
    assert [t.value for t in at.title] == ["Setup"]  # first start: no project yet, Setup opens
    assert all(page_reachable(at, page) for page in ADMIN_PAGES)


def test_admin_password_is_asked_for_and_nothing_else_is_shown(app):
    at = app(password="s3cret").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.warning  # no local-mode banner
    assert not any(page_reachable(at, page) for page in ADMIN_PAGES)


def test_wrong_admin_password_is_refused(app):
    at = app(password="s3cret").run()
    at.text_input[0].input("nope")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong password."]
    assert [t.value for t in at.title] == ["Sign in"]


def test_right_admin_password_signs_the_admin_in(app):
    at = app(password="s3cret").run()
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Setup"]
    assert all(page_reachable(at, page) for page in ADMIN_PAGES)
    assert not at.warning


def test_admin_password_from_the_environment(app, monkeypatch):
    monkeypatch.setenv("LABELLING_ADMIN_PASSWORD", "from-env")
    at = app().run()
    assert [t.value for t in at.title] == ["Sign in"]
    at.text_input[0].input("from-env")
    at.button[0].click().run()
    assert [t.value for t in at.title] == ["Setup"]


def test_invite_link_signs_the_labeller_in_with_only_their_pages(app, labeller):
    name, token = labeller
    at = app(token=token, password="s3cret").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Label"]
    assert any(name in c.value for c in at.sidebar.caption)
    assert at.query_params["token"] == token  # kept in the URL so a refresh stays signed in
    assert all(page_reachable(at, page) for page in LABELLER_PAGES)
    for page in ("setup", "export", "people"):
        assert not page_reachable(at, page), f"a labeller can reach {page}"


def test_labeller_stays_signed_in_when_the_url_loses_the_token(app, store, labeller):
    _, token = labeller
    store.create_project("p", ["a", "b"])
    at = app(token=token, password="s3cret").run()
    at.query_params.clear()  # Streamlit drops query parameters when the page changes
    at.switch_page("pages/progress.py").run()
    assert [t.value for t in at.title] == ["My stats"]
    assert at.query_params["token"] == token


@pytest.mark.parametrize("token", ["wrong-token", "x" * 43])
def test_wrong_token_shows_only_a_clear_message(app, labeller, token):
    at = app(token=token, password="s3cret").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Invite link not valid"]
    assert "wrong or has been revoked" in at.error[0].value
    assert not at.text_input and not at.button  # no password form, nothing else
    assert not any(page_reachable(at, page) for page in ADMIN_PAGES)


def test_wrong_token_in_local_mode_does_not_make_you_admin(app, labeller):
    at = app(token="wrong-token").run()
    assert [t.value for t in at.title] == ["Invite link not valid"]
    assert not any(page_reachable(at, page) for page in ADMIN_PAGES)


def test_revoked_token_stops_working_on_the_next_run(app, store, labeller):
    name, token = labeller
    at = app(token=token, password="s3cret").run()
    assert [t.value for t in at.title] == ["Label"]
    store.people.revoke(name)
    at.run()
    assert [t.value for t in at.title] == ["Invite link not valid"]
    assert not at.button


def test_absent_token_tells_labellers_to_use_their_link(app, labeller):
    at = app(password="s3cret").run()
    assert any("invite link" in i.value for i in at.info)
    assert not any(page_reachable(at, page) for page in LABELLER_PAGES)


def test_invited_admin_gets_every_page(app, store):
    person, token = store.people.add("boss", role="admin")
    at = app(token=token, password="s3cret").run()
    assert not at.exception
    assert all(page_reachable(at, page) for page in ADMIN_PAGES)


def test_sign_out(app):
    at = app(password="s3cret").run()
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    at.sidebar.button(key="sign-out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]


def test_signing_out_takes_the_right_to_upload_away_at_once(app, monkeypatch):
    from ui import uploads

    monkeypatch.setattr(uploads, "_uploaders", set())
    at = app(password="s3cret").run()
    assert not uploads._uploaders  # signed out: this session's uploads are refused by server.py's gate
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert len(uploads._uploaders) == 1
    at.sidebar.button(key="sign-out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert not uploads._uploaders


def test_a_revoked_admin_link_takes_the_right_to_upload_away_on_the_next_run(app, store, monkeypatch):
    from ui import uploads

    monkeypatch.setattr(uploads, "_uploaders", set())
    person, token = store.people.add("boss", role="admin")
    at = app(token=token, password="s3cret").run()
    assert len(uploads._uploaders) == 1
    store.people.revoke(person.name)
    at.run()
    assert [t.value for t in at.title] == ["Invite link not valid"]
    assert not uploads._uploaders
