"""Scripts and voices for the synthetic AMD corpus, in two disjoint pools.

``tune`` is what detectors may be tuned on; ``eval`` holds *other* wordings,
names, companies, espeak-ng accents and voice variants, so that a figure
measured on ``--split eval`` is measured on speech the tuning never heard.
Templates use ``{name}``, ``{name2}``, ``{company}`` and ``{digits}``.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

Split = Literal["tune", "eval"]


class Pool(msgspec.Struct, frozen=True, kw_only=True):
    languages: tuple[str, ...]
    variants: tuple[str, ...]
    names: tuple[str, ...]
    companies: tuple[str, ...]
    hello: tuple[str, ...]  # short human answers
    named: tuple[str, ...]  # "Hello, this is Mark speaking."
    business: tuple[str, ...]  # receptionist answers, then a pause
    again: tuple[str, ...]  # what a human says after 2-3 s of nothing
    vm_short: tuple[str, ...]  # very short personal greetings
    vm_personal: tuple[str, ...]
    vm_carrier: tuple[str, ...]
    vm_business: tuple[str, ...]


TUNE: Final = Pool(
    languages=("en-us", "en-gb", "en-gb-x-rp", "en-029"),
    variants=(
        "m1", "m2", "m3", "m4", "f1", "f2", "f3", "klatt", "klatt2", "klatt3",
        "Alex", "Andy", "Annie", "adam", "anika", "aunty", "belinda", "benjamin",
        "boris", "caleb", "david", "ed", "edward", "grandma", "Gene", "Lee", "Mike",
    ),
    names=(
        "Mark", "Sarah", "John", "Lisa", "David", "Emma", "Michael", "Karen", "Paul",
        "Linda", "James", "Anna", "Robert", "Julie", "Thomas", "Helen", "Steve", "Laura",
    ),
    companies=(
        "Acme Dental", "Northside Plumbing", "Green Valley Insurance", "Smith and Partners",
        "Riverside Auto Repair", "Bright Smile Orthodontics", "City Realty", "Hilltop Bakery",
        "Westfield Electric", "Cedar Lane Vets",
    ),
    hello=(
        "Hello?", "Hello.", "Hi.", "Yeah?", "Hello, who's this?", "Yes, hello?", "Hiya.",
        "Hello there.", "Speaking.", "Yeah, hello.", "Hi, who is it?",
    ),
    named=(
        "Hello, this is {name} speaking.", "Hi, {name} here.", "{name} speaking.",
        "Hello, {name}.", "Hi, it's {name}.", "Hello, {name} speaking, who's calling?",
    ),
    business=(
        "Good afternoon, {company}, {name} speaking, how can I help you?",
        "{company}, this is {name}, how may I help you?",
        "Thank you for calling {company}, this is {name}.",
        "Hello, {company}, {name} speaking.",
        "Good morning, {company}, how can I help?",
        "{company}, {name} speaking.",
    ),
    again=("Hello? Anyone there?", "Hello?", "Hello? Can you hear me?", "Is anybody there?"),
    vm_short=(
        "Leave a message.", "Hi, leave a message.", "{name}, leave a message.",
        "Please leave a message.", "Hi, it's {name}.",
    ),
    vm_personal=(
        "Hi, you've reached {name}. I can't come to the phone right now. "
        "Please leave a message after the tone.",
        "Hey, it's {name}. Leave me a message and I'll call you back.",
        "Hello, this is {name}. Sorry I missed your call. "
        "Leave your name and number and I'll get back to you.",
        "You've reached {name} and {name2}. We're not home right now, so leave a message.",
        "Hi, this is {name}. I'm away from my phone. Please leave a message.",
        "Hi, {name} here. Leave a message.",
    ),
    vm_carrier=(
        "The person you are calling is not available. Please leave a message after the tone.",
        "The number you have dialed, {digits}, is not available. At the tone, please record "
        "your message. When you have finished recording, you may hang up.",
        "Your call has been forwarded to an automatic voice message system. {name} is not "
        "available. At the tone, please record your message.",
        "The customer you are calling is not available right now. Please leave a message.",
    ),
    vm_business=(
        "Thank you for calling {company}. Our office is currently closed. Our hours are "
        "Monday through Friday, nine to five. Please leave your name and number after the "
        "tone and we will return your call.",
        "You have reached {company}. All of our staff are busy with other customers. "
        "Please leave a message and we will call you back as soon as possible.",
        "Hello, and thank you for calling {company}. We are unable to take your call right "
        "now. Please leave a detailed message after the tone.",
        "{company}. We're sorry we missed your call. Leave a message and we'll get right "
        "back to you.",
    ),
)

EVAL: Final = Pool(
    languages=("en-us-nyc", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd"),
    variants=(
        "m5", "m6", "m7", "m8", "f4", "f5", "klatt4", "klatt5", "klatt6", "Alicia",
        "Andrea", "Denis", "Hugo", "Jacky", "Marco", "Michael", "antonio", "iven", "john",
        "linda", "max", "norbert", "paul", "quincy", "rob", "steph", "travis", "victor",
    ),
    names=(
        "Priya", "Carlos", "Megan", "Tom", "Aisha", "Kevin", "Rachel", "Oliver", "Fatima",
        "Brian", "Chloe", "Marcus", "Nina", "Derek", "Sofia", "Gareth", "Ingrid", "Omar",
    ),
    companies=(
        "Blue Harbor Clinic", "Summit Accounting", "Oakwood Veterinary", "Metro Legal Services",
        "Parkview Pharmacy", "Pioneer Roofing", "Lakeside Family Practice", "Golden Gate Movers",
        "Maple Street Dentistry", "Keystone Heating",
    ),
    hello=(
        "Hullo?", "Hey.", "Yes?", "Hello, yes?", "Good morning.", "Hi there.", "Yep, hello?",
        "Hello, who is calling?", "Uh, hello?", "Evening.", "Hey, what's up?",
    ),
    named=(
        "Hello, you've got {name}.", "Yes, this is {name}.", "Hey, {name} here, hello?",
        "{name}, hello?", "Good morning, {name} speaking.", "This is {name}.",
    ),
    business=(
        "{company}, good morning, {name} speaking.",
        "Hi, you're through to {company}, this is {name}.",
        "Good evening, {company}, what can I do for you?",
        "{company} reception, {name} speaking, how can I help?",
        "Thanks for calling {company}, {name} here, how can I help you today?",
        "{company}, {name} here.",
    ),
    again=("Hello? Who is this?", "Hello, hello?", "Hi? I can't hear you.", "Anyone there?"),
    vm_short=(
        "Leave a message please.", "Talk to me.", "It's {name}, leave a message.",
        "Message, please.", "{name} here.",
    ),
    vm_personal=(
        "Hey there, this is {name}. I'm not available right now, but leave a message and "
        "I'll return your call.",
        "Hello, you have reached the phone of {name}. Please leave a short message after "
        "the beep.",
        "It's {name}. Can't talk now. Leave a message.",
        "Hi, {name} and {name2} here. We can't get to the phone, please leave us a message.",
        "This is {name}'s phone. I'll call you back as soon as I can. Please leave a message.",
        "{name} here, you know what to do.",
    ),
    vm_carrier=(
        "The subscriber you have called is unavailable. Please record your message after "
        "the tone.",
        "You have reached the voice mailbox of {digits}. Please leave a message after the "
        "tone. When you are done, hang up or press pound for more options.",
        "The mobile number {digits} cannot take your call. Please leave your message after "
        "the tone.",
        "Sorry, {name} is not available. Record your message at the tone.",
    ),
    vm_business=(
        "Welcome to {company}. Our offices are closed for the holiday. Please leave a "
        "message with your name, number, and the reason for your call.",
        "Thanks for calling {company}. No one is available to take your call. Leave a "
        "message and someone will get back to you within one business day.",
        "You've reached the after hours line for {company}. If this is an emergency, please "
        "hang up and dial nine one one. Otherwise, leave a message after the tone.",
        "This is {company}. We are either on the other line or away from the desk. Please "
        "leave a message.",
    ),
)

POOLS: Final[dict[str, Pool]] = {"tune": TUNE, "eval": EVAL}
