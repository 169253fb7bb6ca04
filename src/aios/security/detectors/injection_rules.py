"""Heuristics for prompt injection and jailbreaks: phrase patterns and de-obfuscation.

The patterns describe the *shape* of an attack (a verb that overrides, an object that names
the instructions, a demand for the hidden prompt, a persona without rules), not particular
strings from any data set. English and German are covered best, French, Spanish, Italian and
Portuguese for the commonest override phrases. Obfuscated text is normalised first (leetspeak,
letters split by spaces or punctuation, zero-width characters, base64 blobs) and the same
patterns run over the result.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["PATTERNS", "InjectionPattern", "decoded_base64", "leet_normalise",
           "rejoin_split_letters", "strip_invisible"]


@dataclass(frozen=True)
class InjectionPattern:
    """One phrase shape.

    Attributes:
        type: `instruction_override`, `system_prompt_extraction`, `jailbreak`,
            `role_play`, `indirect_injection` or `exfiltration`.
        pattern: compiled, case-insensitive.
        score: how sure a match alone makes us.
    """

    type: str
    pattern: re.Pattern[str]
    score: float


def _p(type_: str, pattern: str, score: float) -> InjectionPattern:
    return InjectionPattern(type_, re.compile(pattern, re.IGNORECASE | re.UNICODE), score)


_OVERRIDE_VERB = (r"(?:ignore|ignoring|disregard|forget|skip|override|overrule|bypass|drop|"
                  r"abandon|neglect|dismiss|discard|erase|delete|remove|cancel|leave behind|"
                  r"pay no attention to|do not follow|don't follow|stop following|throw away)")
_QUALIFIER = (r"(?:all|any|every|each|the|your|my|these|those|of|previous|prior|above|earlier|"
              r"preceding|former|initial|original|old|given|provided|current|existing|"
              r"system|developer|other|whatever|such|and|safety|ethical|your own|\s)*")
_OBJECT = (r"(?:instructions?|prompts?|rules?|directions?|directives?|guidelines?|orders?|"
           r"commands?|context|tasks?|assignments?|programming|constraints?|"
           r"restrictions?|conversation|training|filters?)")
#: Objects that are as often the user's own material ("disregard my last message", "the old
#: policy document"): an override only when they point back ("the above text", "all prior
#: messages", "your policies").
_WEAK_OBJECT = (r"(?:text|messages?|polic(?:y|ies)|information|inputs?|requests?|documents?|"
                r"articles?|thoughts?|settings)")
_POINTING = (r"(?:all|any|every|your|previous|prior|above|earlier|preceding|former|initial|"
             r"original|given|provided|system|developer|safety|ethical)")

#: The phrase patterns.
PATTERNS: tuple[InjectionPattern, ...] = (
    # -- overriding the instructions -------------------------------------------------------
    _p("instruction_override", rf"\b{_OVERRIDE_VERB}\s+{_QUALIFIER}{_OBJECT}\b", 0.9),
    _p("instruction_override", rf"\b{_OVERRIDE_VERB}\s+(?:the\s+)?(?=[\w\s]*\b{_POINTING}\b)"
                               rf"{_QUALIFIER}{_WEAK_OBJECT}\b", 0.9),
    _p("instruction_override", rf"\b{_OVERRIDE_VERB}\s+{_QUALIFIER}{_WEAK_OBJECT}\b", 0.5),
    # "forget everything you know" overrides; "forget everything about the car rental" and
    # "forget what I said about Python" revise the user's own request (weak: the classifier
    # decides).
    _p("instruction_override", r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything"
                               r"(?!\s+(?:about|on|regarding|related)\b)|"
                               r"all(?:\s+of)?\s+(?:that|this|it)(?!\s+about\b)|"
                               r"what\s+you\s+(?:know|were|have been|'ve been)|"
                               r"what\s+(?:i|we)\s+(?:told|said\s+(?:to\s+you\s+)?before|"
                               r"instructed))", 0.85),
    _p("instruction_override", r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|"
                               r"what\s+(?:i|we)\s+(?:said|discussed|wrote))", 0.5),
    _p("instruction_override", r"\b(?:new|updated|real|actual|revised|following)\s+(?:system\s+)?"
                               r"(?:instructions?|tasks?|rules|orders|directives?)\s*(?::|follow\b|"
                               r"are\b|apply\b)", 0.6),
    _p("instruction_override", r"\b(?:from now on|starting now|henceforth|for the rest of this "
                               r"conversation),?\s+(?:you|your|only|always|never|respond|answer|"
                               r"reply|act)", 0.6),
    _p("instruction_override", r"\b(?:now|instead)\s+(?:focus|concentrate)\s+on\s+(?:your|the|a)"
                               r"\s+new\s+task", 0.75),
    _p("instruction_override", r"\b(?:that is|that's)\s+(?:done|enough)\b.{0,40}?\b(?:now|next)\b",
       0.55),
    _p("instruction_override", r"\b(?:vergiss|vergessen sie|ignoriere|ignorieren sie|missachte|"
                               r"verwirf)\b.{0,40}?\b(?:alle|alles|vorherigen?|obigen?|bisherigen?|"
                               r"anweisungen|instruktionen|aufgaben|befehle|vorgaben|angaben|"
                               r"anordnungen)\b", 0.9),
    _p("instruction_override", r"\b(?:abweichend\s+zu|entgegen)\s+(?:den\s+)?(?:vorherigen|"
                               r"bisherigen|obigen)", 0.8),
    _p("instruction_override", r"\b(?:neue|folgende)\s+(?:anweisungen|aufgabe|instruktionen)\b"
                               r".{0,30}?(?:folgen|umsetzen|:)", 0.55),
    _p("instruction_override", r"\b(?:oubliez|oublie|ignorez|ignore)\s+(?:toutes?\s+)?(?:les\s+)?"
                               r"(?:instructions|consignes|règles|ordres)", 0.9),
    _p("instruction_override", r"\b(?:ignora|olvida|olvide|ignore|ignori|dimentica|esqueça|"
                               r"esqueca)\s+(?:todas?\s+|tutte\s+)?(?:las\s+|le\s+|as\s+)?"
                               r"(?:instrucciones|istruzioni|instruções|instrucoes|reglas|regole)",
       0.9),
    # -- extracting the system prompt -------------------------------------------------------
    _p("system_prompt_extraction",
       r"\b(?:show|reveal|print|repeat|output|display|tell|give|write|leak|dump|recite|spell|"
       r"share|return|list|copy|paste|echo|translate|summari[sz]e)\b.{0,40}?\b(?:"
       r"(?<!\ba\s)(?<!\bmy\s)(?<!\bour\s)(?<!\bnew\s)system\s+"
       r"(?:prompt|message|instructions?)|your\s+(?:initial\s+|original\s+|hidden\s+|"
       r"secret\s+|internal\s+|full\s+|complete\s+|exact\s+)?(?:prompts?(?:\s+texts?)?|"
       r"instructions|guidelines|rules|configuration|pre-?prompt)|(?:the|all)\s+(?:initial|"
       r"original|hidden|secret|internal)\s+(?:prompts?|instructions|guidelines|rules|"
       r"configuration)|(?:the|all)\s+(?:prompts?(?:\s+texts?)?|pre-?prompt)|prompt[- ]texts?|"
       r"(?:text|words|everything|instructions)\s+(?:above|before)|"
       r"beginning of (?:this|the|your) (?:prompt|conversation))", 0.85),
    _p("system_prompt_extraction", r"\bwhat\s+(?:is|was|are|were)\s+(?:written\s+)?(?:in\s+)?"
                                   r"(?:your|the)\s+(?:system\s+prompt|initial\s+(?:prompt|"
                                   r"instructions)|instructions\s+above|(?:text|prompt)\s+above|"
                                   r"beginning\s+of\s+(?:this|the)\s+prompt|hidden\s+instructions)",
       0.85),
    _p("system_prompt_extraction", r"\b(?:repeat|print|output)\s+(?:the\s+)?(?:words|text|"
                                   r"everything)\s+(?:above|before|starting\s+with)", 0.85),
    _p("system_prompt_extraction", r"\b(?:zeige?|gib|nenne|wiederhole|verrate)\b.{0,40}?"
                                   r"(?:prompt-?texte?|system-?prompt|anweisungen|instruktionen)",
       0.8),
    # -- jailbreak personas and modes ------------------------------------------------------
    _p("jailbreak", r"\b(?:DAN|STAN|DUDE|AIM|BetterDAN|AntiGPT|DevMode)\b(?=.{0,200}"
                    r"(?:mode|anything|now|stands for|persona|jailbreak|character|"
                    r"restrictions|rules))", 0.9),
    _p("jailbreak", r"\bdo anything now\b", 0.95),
    _p("jailbreak", r"\b(?:god|dan|jailbreak|unrestricted|unfiltered|uncensored|evil)\s+mode\b",
       0.8),
    _p("jailbreak", r"\b(?:enable|enter|activate|switch\s+(?:to|into)|turn\s+on|(?:you\s+are|"
                    r"you're)\s+(?:now\s+)?in|now\s+in)\s+(?:the\s+)?(?:developer|opposite|sudo|"
                    r"admin|debug|maintenance)\s+mode\b(?!\s+(?:on|in|for|of)\s+(?:a|an|my|the|your|"
                    r"this)\s)", 0.8),
    _p("jailbreak", r"\b(?:developer|opposite|sudo|admin|debug|maintenance)\s+mode\b", 0.5),
    _p("jailbreak", r"\bjail\s*-?\s*break(?:ing|s|ed)?\b", 0.5),
    _p("jailbreak", r"\b(?:you\s+are|you're|become|act\s+as)\s+(?:now\s+)?(?:an?\s+)?"
                    r"jail\s*-?\s*broken\b", 0.85),
    _p("jailbreak", r"\b(?:without|free (?:from|of)|no|ignore (?:all|any|your)|not bound by|"
                    r"break free of|beyond)\s+(?:any\s+|all\s+|your\s+|the\s+)?(?:restrictions|"
                    r"limitations|limits|filters|censorship|guidelines|content polic(?:y|ies)|"
                    r"ethical (?:guidelines|constraints|boundaries)|moral(?:s|ity)?|rules|"
                    r"safeguards|guardrails)\b", 0.65),
    _p("jailbreak", r"\b(?:you are|you're|act as|pretend (?:to be|you are)|become)\s+(?:an?\s+)?"
                    r"(?:unrestricted|unfiltered|uncensored|evil|malicious|amoral|immoral|"
                    r"rogue|jailbroken|unaligned|unethical)\b", 0.85),
    _p("jailbreak", r"\b(?:stay|remain|keep)\s+in\s+(?:character|role)\b|\bbreak(?:ing)?\s+"
                    r"character\b|\bnever\s+(?:break|leave|drop)\s+(?:character|the role)", 0.6),
    _p("jailbreak", r"\b(?:openai|anthropic|your (?:creators|developers))\b.{0,60}?\b(?:policies|"
                    r"rules|guidelines)\b.{0,60}?\b(?:no longer|don't|do not|doesn't|no)\s+"
                    r"(?:apply|matter|bind)", 0.8),
    _p("role_play", r"\b(?:you are|you're)\s+now\s+(?!going\b|ready\b|able\b|done\b|"
                    r"finished\b|connected\b|logged\b)[A-Za-z]", 0.5),
    _p("role_play", r"\b(?:pretend|imagine)\s+(?:that\s+)?(?:you\s+are|you're|to\s+be)\b", 0.45),
    _p("role_play", r"\b(?:jetzt|nun)\s+bist\s+du\b|\bdu\s+bist\s+(?:jetzt|nun|ab\s+sofort)\b",
       0.6),
    # -- instructions planted in data for the model to find (indirect injection) -----------
    _p("indirect_injection", r"(?:<\s*/?\s*(?:system|instructions?|im_start|im_end|sys)\s*>|"
                             r"\[/?(?:system|INST|SYS)\]|<<\s*SYS\s*>>|^\s*#{2,}\s*(?:system|"
                             r"instructions?|new instructions)\b)", 0.75),
    _p("indirect_injection", r"\b(?:attention|note|message|instructions?|important)\s*(?:to|for)"
                             r"\s+(?:the\s+|any\s+|all\s+)?(?:ai|assistant|agent|model|llm|"
                             r"chatbot|language model|bot)s?\b", 0.8),
    _p("indirect_injection", r"\b(?:ai|assistant|agent|model|llm|chatbot)s?\b[,:]?\s+(?:reading|"
                             r"processing|summari[sz]ing)\s+this\b", 0.8),
    _p("indirect_injection", r"\b(?:if|when)\s+you\s+(?:are\s+an?\s+(?:ai|assistant|llm|language "
                             r"model)|read|see|process|summari[sz]e|parse)\s+this\b.{0,80}?"
                             r"\b(?:you must|you should|please|do|run|call|execute|send|say|"
                             r"respond|reply|output)\b", 0.8),
    _p("indirect_injection", r"\b(?:do not|don't|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|"
                             r"mention(?:ing)?|alert(?:ing)?|ask(?:ing)?|notify(?:ing)?)\s+"
                             r"(?:to\s+)?(?:the\s+)?(?:user|human|operator|owner|admin)", 0.75),
    _p("indirect_injection", r"\b(?:immediately|now|must|should|please)\s+(?:call|invoke|run|"
                             r"execute|use)\s+(?:the\s+)?(?:tool|function|action|command)\b", 0.7),
    _p("indirect_injection", r"\b(?:call|invoke|run|execute|trigger)\s+(?:the\s+)?`?[a-z_]+\."
                             r"[a-z_]+`?(?:\s+(?:tool|action|function))?\s+(?:with|now|"
                             r"immediately|right away)\b", 0.7),
    # -- sending data out ------------------------------------------------------------------
    _p("exfiltration", r"\b(?:send|forward|email|e-mail|post|upload|exfiltrate|transmit|leak|"
                       r"copy)\s+(?:all\s+|the\s+|any\s+|every\s+|this\s+|your\s+)?(?:user'?s?\s+)?"
                       r"(?:data|secrets?|credentials?|passwords?|api keys?|keys|tokens?|"
                       r"conversation|chat history|history|files?|emails?|contacts?|"
                       r"personal (?:data|information))\s+(?:to|at|via)\b", 0.8),
    _p("exfiltration", r"!\[[^\]]*\]\(https?://[^)]*(?:\?|&)[\w-]*=(?:\{|\$|%7B)", 0.8),
)

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "l", "+": "t"})
_SPLIT = re.compile(r"(?<![\w])(?:[A-Za-z][ .\-_*/|]{1,3}){3,}[A-Za-z](?![\w])")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")


def strip_invisible(text: str) -> str:
    """NFKC-normalise and drop zero-width characters (used to hide words from filters)."""
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))


def leet_normalise(text: str) -> str:
    """`1gn0r3 4ll` -> `ignore all`; same length, so spans map back one to one."""
    return text.translate(_LEET)


def rejoin_split_letters(text: str) -> list[tuple[int, int, str]]:
    """Runs of single letters split by spaces or punctuation, rejoined: `i g n o r e`.

    Returns (start, end, joined) for each run.
    """
    out = []
    for match in _SPLIT.finditer(text):
        joined = re.sub(r"[^A-Za-z]", "", match.group(0))
        out.append((match.start(), match.end(), joined))
    return out


def decoded_base64(text: str) -> list[tuple[int, int, str]]:
    """Base64 blobs in `text` that decode to mostly printable text: (start, end, decoded)."""
    out = []
    for match in _BASE64.finditer(text):
        blob = match.group(0)
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        printable = sum(ch.isprintable() or ch.isspace() for ch in decoded)
        if decoded and printable / len(decoded) > 0.95 and " " in decoded:
            out.append((match.start(), match.end(), decoded))
    return out
