"""Where a prompt's trigger words aim: at the assistant's instructions, or at the user's task.

"Ignore the header row" and "ignore your instructions" share the verb; "act as a travel
planner and draft an itinerary" and "act as an AI without rules" share the role prompt. A
mean-pooled word embedding sees the same words in both, so the prompt classifier also gets
these few binary features, each a phrase shape (not a string from any data set):

- `aims_at_directives`: an override verb whose object points back at the assistant's
  instructions, identity or context ("ignore above", "forget what you were told", "your rules");
- `aims_at_material`: an override verb whose object is ordinary material ("ignore the blank
  lines", "forget the budget", "disregard my last message");
- `speaks_of_assistant_rules`: the assistant's own instructions, prompt or restrictions named
  ("your guidelines", "you were given", "no restrictions");
- `role_with_task`: a role prompt followed by a concrete deliverable ("... and plan three
  workouts", "... ; describe the walk");
- `asks_about_topic`: a question or writing request about prompts, instructions or jailbreaks
  as a subject ("What is a system prompt?", "How do I test my chatbot for jailbreaks?");
- `translation_or_quote`: the trigger words sit in quoted text to translate or discuss.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

__all__ = ["AIM_FEATURES", "aim_features"]

_VERB = r"(?:ignore|ignoring|disregard|forget|skip|override|overrule|bypass|drop|neglect|dismiss)"
_BACK = (r"(?:above|before|previous(?:ly)?|prior|earlier|preceding|everything(?!\s+about)|"
         r"all\s+(?:of\s+)?(?:the\s+)?(?:above|previous|prior|that\s+came)|your|what\s+you|"
         r"instructions?|rules|guidelines|prompts?|context|programming|training|restrictions|"
         r"filters|polic(?:y|ies)|system|developers?|safety|ethics|morals|directives?)")
_DIRECTIVES = re.compile(rf"(?i)\b{_VERB}\b(?:\s+\S+){{0,3}}?\s+{_BACK}\b")
_MATERIAL = re.compile(rf"(?i)\b{_VERB}\s+(?:about\s+)?(?:the|my|our|this|these|that|those|"
                       rf"any|a|an)\s+(?!(?:above|previous|prior|earlier|preceding|initial|"
                       rf"original|system|instructions?|rules|guidelines|prompts?|context)\b)"
                       r"[a-z][\w-]*")
_MATERIAL_BARE = re.compile(r"(?i)\b(?:ignore|disregard|forget)\s+(?:case|punctuation|"
                            r"formatting|typos|outliers|units|spaces|whitespace|taxes|"
                            r"spelling|grammar|capitali[sz]ation)\b")
_ASSISTANT_RULES = re.compile(
    r"(?i)\b(?:your|its)\s+(?:\w+\s+)?(?:instructions|rules|guidelines|system\s+prompt|prompt|"
    r"programming|training|restrictions|filters|content\s+polic(?:y|ies)|configuration|"
    r"creators|developers)\b|\byou\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|given|"
    r"instructed|programmed|trained)\b|\b(?:no|without|free\s+of)\s+(?:any\s+)?(?:\w+\s+)?(?:rules|"
    r"restrictions|limits|filters|ethics|guidelines|censorship)\b")
_ROLE = re.compile(r"(?i)\b(?:act(?:ing)?\s+as|you\s+are\s+(?:now\s+)?(?:an?|my|the)|pretend|"
                   r"imagine\s+you\s+are|role-?play|play\s+(?:the\s+role\s+of|an?)|be\s+my)\b")
_TASK = re.compile(r"(?i)(?:\band\s+|[:;,.]\s*|\bthen\s+)(?:please\s+)?(?:write|draft|plan|"
                   r"list|suggest|review|explain|describe|tell\s+me\s+(?:what|how|which|why)|"
                   r"ask\s+me|correct|translate|recommend|give\s+me|help\s+me|create|"
                   r"summari[sz]e|check|compare|show\s+(?:me\s+)?what|answer\s+my|greet|"
                   r"argue|walk\s+me|mark|cut|adjust|let\s+me|i\s+will)\b")
_QUESTION = re.compile(r"(?i)^\s*(?:what|what's|how|why|when|where|which|who|is|are|can|"
                       r"could|should|does|do|explain|compare|summari[sz]e|define|describe|"
                       r"write\s+(?:a|an)\s+(?:blog|paragraph|article|short|intro|essay))\b")
_TOPIC = re.compile(r"(?i)\b(?:system\s+prompts?|prompt\s+(?:injection|engineering|templates?)|"
                    r"jail\s*-?\s*break\w*|red[- ]team\w*|role\s+prompting|few-shot|"
                    r"chain-of-thought|instructions?\s+(?:for|to|on|in|of)|override\w*\s+"
                    r"(?:a|the|an|my)|(?:a|my|our)\s+prompts?|prompts?\s+(?:that|for|to))\b")
_TRANSLATE = re.compile(r"(?i)^\s*(?:translate|how\s+do\s+you\s+say|what\s+(?:does|is)\s+the\s+"
                        r"(?:\w+\s+)?(?:phrase|word|english|french|german|spanish)|find\s+the\s+"
                        r"(?:grammar|spelling)|who\s+(?:sang|wrote|said))\b")
_QUOTED = re.compile("['\"\u201c\u2018\u00ab][^'\"\u201d\u2019\u00bb]{3,}['\"\u201d\u2019\u00bb]")
_TRIGGER = re.compile(r"(?i)ignor|forget|disregard|vergiss|instruction|prompt|override|"
                      r"jailbreak|pretend|act\s+as|you\s+are\s+now")

#: Feature names, in column order.
AIM_FEATURES: tuple[str, ...] = ("aims_at_directives", "aims_at_material",
                                 "speaks_of_assistant_rules", "role_with_task",
                                 "asks_about_topic", "translation_or_quote")


def aim_features(text: str) -> npt.NDArray[np.float32]:
    """The `AIM_FEATURES` of `text`, 0 or 1 each."""
    quoted = any(_TRIGGER.search(m.group(0)) for m in _QUOTED.finditer(text))
    unquoted = _QUOTED.sub(" ", text)
    role = _ROLE.search(unquoted)
    return np.asarray([
        bool(_DIRECTIVES.search(unquoted)),
        bool(_MATERIAL.search(unquoted) or _MATERIAL_BARE.search(unquoted)),
        bool(_ASSISTANT_RULES.search(unquoted)),
        bool(role and _TASK.search(unquoted, role.end())),
        bool(_QUESTION.search(text) and _TOPIC.search(text)),
        bool(quoted and (_TRANSLATE.search(text) or _QUESTION.search(text))),
    ], dtype=np.float32)
