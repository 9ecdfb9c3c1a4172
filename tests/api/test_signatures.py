"""Our reading of X-Twilio-Signature agrees with Twilio's own SDK."""

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from smsledger.api.signatures import signature, signed_by

fields = st.lists(st.tuples(st.text(max_size=12), st.text(max_size=20)), max_size=6)
urls = st.sampled_from(
    [
        "https://sms.example.com/v1/webhooks/twilio/sms",
        "https://sms.example.com:8443/v1/webhooks/twilio/sms?x=1",
        "http://127.0.0.1:8000/v1/webhooks/twilio/sms",
    ]
)


class MultiDict(dict[str, list[str]]):
    """The shape the SDK reads several values per name from."""

    def getall(self, name):
        return self[name]


def sdk_form(pairs):
    form = MultiDict()
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


@given(token=st.text(min_size=1, max_size=32), pairs=fields, url=urls)
def test_signature_is_the_one_the_sdk_computes(token, pairs, url):
    ours = signature(token, url, ImmutableMultiDict(pairs))

    assert ours == RequestValidator(token).compute_signature(url, sdk_form(pairs))


@given(token=st.text(min_size=1, max_size=32), pairs=fields, url=urls)
def test_what_the_sdk_accepts_we_accept(token, pairs, url):
    sdk = RequestValidator(token)
    signed = sdk.compute_signature(url, sdk_form(pairs))

    assert signed_by(token, url, ImmutableMultiDict(pairs), signed)
    assert not signed_by(token + "x", url, ImmutableMultiDict(pairs), signed)


def test_default_port_may_be_signed_or_not():
    url = "https://sms.example.com/v1/webhooks/twilio/sms"
    with_port = "https://sms.example.com:443/v1/webhooks/twilio/sms"
    form = ImmutableMultiDict([("Body", "hi")])

    assert signed_by("t", url, form, signature("t", with_port, form))
    assert signed_by("t", with_port, form, signature("t", url, form))
