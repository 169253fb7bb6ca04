"""Credential formats that `detect-secrets` does not ship, as data.

Each rule is a type name, a pattern whose group `v` (or the whole match) is the secret, and a
score: 0.95 for formats with a distinctive vendor prefix, lower for those that need a nearby
keyword to tell them from ordinary identifiers. Vendors document these formats; where a format
is only recognisable next to its vendor's name, the pattern asks for that name within a few
characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["EXTRA_RULES", "SecretRule"]


@dataclass(frozen=True)
class SecretRule:
    """One credential format.

    Attributes:
        type: the finding type (`anthropic_api_key`, ...).
        pattern: group `v` (if present) is the secret, else the whole match.
        score: confidence of a match.
    """

    type: str
    pattern: re.Pattern[str]
    score: float


def _r(type_: str, pattern: str, score: float = 0.95, flags: int = 0) -> SecretRule:
    return SecretRule(type_, re.compile(pattern, flags), score)


_B = r"(?<![A-Za-z0-9_])"  # start boundary that, unlike \b, also works before `-` and `.`
_E = r"(?![A-Za-z0-9_])"
_ASSIGN = r"""['"]?\s*(?:[:=,]|=>|:=|\s)\s*['"]?"""


def _near(words: str, value: str) -> str:
    """A keyword from `words`, then (within 40 characters) an assignment of `value`."""
    return rf"(?i:{words})[\w.\-\[\]'\"]{{0,40}}?{_ASSIGN}(?P<v>{value}){_E}"


EXTRA_RULES: tuple[SecretRule, ...] = (
    # -- AI providers --------------------------------------------------------------------
    _r("anthropic_api_key", rf"{_B}sk-ant-(?:api|admin)\d{{2}}-[\w-]{{80,120}}"),
    _r("openai_api_key", rf"{_B}sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{{20,}}T3BlbkFJ"
                         rf"[A-Za-z0-9_-]{{20,}}"),
    _r("openai_api_key", rf"{_B}sk-proj-[A-Za-z0-9_-]{{40,}}"),
    _r("groq_api_key", rf"{_B}gsk_[A-Za-z0-9]{{48,56}}{_E}"),
    _r("huggingface_token", rf"{_B}hf_[A-Za-z]{{34}}{_E}"),
    _r("tavily_api_key", rf"{_B}tvly-(?:dev-|prod-)?[A-Za-z0-9]{{30,40}}{_E}"),
    _r("firecrawl_api_key", rf"{_B}fc-[0-9a-f]{{32}}{_E}"),
    _r("jina_api_key", rf"{_B}jina_[A-Za-z0-9_-]{{50,70}}{_E}"),
    # -- source hosting and CI -----------------------------------------------------------
    _r("github_token", rf"{_B}github_pat_[A-Za-z0-9_]{{70,90}}{_E}"),
    _r("github_token", rf"{_B}gh[pousr]_[A-Za-z0-9]{{36,40}}{_E}"),
    _r("github_oauth_secret", _near(r"github|gh_?client", r"[0-9a-f]{40}"), 0.8),
    _r("github_client_id", _near(r"github|gh_?client", r"Iv1\.[0-9a-f]{16}|[0-9a-f]{20}"), 0.7),
    _r("gitlab_token", rf"{_B}gl(?:pat|ptt|dt|rt|cbt|imt|oas|soat|ft)-[\w-]{{20,64}}{_E}"),
    _r("gitlab_token", rf"{_B}GR1348941[\w-]{{20,50}}{_E}"),
    _r("bitbucket_app_password", rf"{_B}ATBB[A-Za-z0-9_=.-]{{28,40}}{_E}"),
    _r("atlassian_api_token", rf"{_B}ATATT3[A-Za-z0-9_=\-]{{150,220}}{_E}"),
    _r("atlassian_api_token", _near(r"atlassian|jira|confluence", r"[A-Za-z0-9]{24}"), 0.8),
    _r("azure_devops_pat",
       rf"{_B}[A-Za-z0-9]{{52}}(?:[A-Za-z0-9]{{24}})?AZDO[A-Za-z0-9]{{4}}{_E}", 0.9),
    _r("azure_devops_pat", _near(r"ado|azure[_-]?devops|devops|\bpat\b|vsts|azdo",
                                 r"[a-z2-7]{52}|[A-Za-z0-9]{84}"), 0.85),
    _r("sourcegraph_token", rf"{_B}sgp_(?:local_|[0-9a-f]{{16}}_)?[0-9a-f]{{40}}{_E}"),
    _r("sourcegraph_token", _near(r"sourcegraph|src_access", r"[0-9a-f]{40}"), 0.8),
    _r("sonarqube_token", rf"{_B}sq[pua]_[0-9a-f]{{40}}{_E}"),
    _r("sonarqube_token", _near(r"sonar[\w.]*(?:login|token)", r"[0-9a-f]{40}"), 0.85),
    _r("jenkins_token", _near(r"jenkins[\w.-]*(?:token|crumb|api)", r"[0-9a-f]{32,36}"), 0.85),
    _r("jenkins_admin_password", r"(?i)initialAdminPassword\W{1,40}(?P<v>[0-9a-f]{32})", 0.9),
    # Jenkins' first-start log prints the generated password before the file's path.
    _r("jenkins_admin_password", r"(?i)use the following password to proceed to installation:"
                                 r"\s+(?P<v>[0-9a-f]{32})\b", 0.9),
    _r("teamcity_token", rf"{_B}eyJ0eXAiOiAiVENWMiJ9\.[\w-]{{36}}\.[\w-]{{48}}{_E}"),
    _r("codeclimate_reporter_id", _near(r"cc_test_reporter_id|codeclimate", r"[0-9a-f]{64}"),
       0.85),
    _r("dependency_track_key", rf"{_B}odt_[A-Za-z0-9]{{32,40}}{_E}"),
    _r("dependency_track_key", _near(r"x-api-key|dependency[_-]?track|dtrack",
                                     r"[A-Za-z0-9]{32}"), 0.75),
    _r("stackhawk_api_key", rf"{_B}hawk\.[\w-]{{20}}\.[\w-]{{20}}{_E}"),
    _r("sauce_token", _near(r"sauce", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                      r"[0-9a-f]{12}"), 0.85),
    _r("nuget_api_key", rf"{_B}oy2[a-z0-9]{{43}}{_E}"),
    _r("npm_token", rf"{_B}npm_[A-Za-z0-9]{{36}}{_E}"),
    _r("rubygems_api_key", rf"{_B}rubygems_[0-9a-f]{{48}}{_E}"),
    _r("crates_io_api_key", rf"{_B}cio[A-Za-z0-9]{{32}}{_E}"),
    _r("pypi_token", rf"{_B}pypi-AgE[A-Za-z0-9_-]{{50,}}"),
    _r("docker_hub_pat", rf"{_B}dckr_pat_[A-Za-z0-9_-]{{27}}{_E}"),
    _r("postman_api_key", rf"{_B}PMAK-[0-9a-f]{{24}}-[0-9a-f]{{34}}{_E}"),
    # -- cloud ---------------------------------------------------------------------------
    _r("aws_secret_access_key", _near(r"aws|secret_?access_?key|secret_?key",
                                      r"[A-Za-z0-9/+]{40}"), 0.9),
    _r("aws_session_token", _near(r"aws_?session_?token|security_?token",
                                  r"[A-Za-z0-9/+=]{100,}"), 0.9),
    _r("aws_account_id", _near(r"aws_?account(?:_?id)?|account_?id", r"\d{12}"), 0.7),
    _r("aws_appsync_key", rf"{_B}da2-[a-z0-9]{{26}}{_E}"),
    _r("aws_mws_token", rf"{_B}amzn\.mws\.[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-"
                        rf"[0-9a-f]{{12}}{_E}"),
    _r("aws_arn", rf"{_B}arn:aws[\w-]*:[\w-]+:[\w-]*:\d{{0,12}}:[\w/:.*+=,@${{}}-]+", 0.6),
    _r("aws_s3_bucket", rf"{_B}[a-z0-9][a-z0-9.-]{{2,62}}\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com"
                        rf"(?=/?[\s'\"]|/?$)", 0.55),
    _r("aws_s3_bucket", r"(?i)s3://(?P<v>[a-z0-9][a-z0-9.-]{2,62})", 0.55),
    _r("aws_s3_bucket",
       r"(?i)(?<![\w.-])s3[.-][\w.-]*amazonaws\.com/(?P<v>[a-z0-9][a-z0-9.-]{2,62})", 0.55),
    _r("gcs_bucket", r"gs://(?P<v>[a-z0-9][\w.-]{2,62})", 0.55),
    # Path style, and virtual-hosted style, whose bucket names may hold dots (domain-named
    # buckets) and be a single character: the whole host is the value there.
    _r("gcs_bucket", r"https?://storage\.googleapis\.com/(?P<v>[a-z0-9][a-z0-9._-]{2,62})", 0.55),
    _r("gcs_bucket", rf"{_B}[a-z0-9][a-z0-9._-]{{0,221}}\.storage\.googleapis\.com"
                     rf"(?=/?[\s'\"]|/?$)", 0.55),
    _r("google_api_key", rf"{_B}AIza[0-9A-Za-z_-]{{35}}{_E}"),
    _r("google_oauth_client_secret", rf"{_B}GOCSPX-[A-Za-z0-9_-]{{28}}{_E}"),
    _r("google_oauth_client_secret", _near(r"client_?secret", r"[A-Za-z0-9_-]{24}"), 0.75),
    _r("google_oauth_token", rf"{_B}ya29\.[0-9A-Za-z_-]{{30,}}"),
    _r("google_client_id", rf"{_B}\d{{10,14}}-[a-z0-9]{{32}}\.apps\.googleusercontent\.com", 0.7),
    _r("azure_storage_key", r"(?i)AccountKey=(?P<v>[A-Za-z0-9+/]{86,88}={0,2})"),
    _r("azure_connection_string", r"(?i)(?:SharedAccessKey|AccessKey|Secret)=(?P<v>[A-Za-z0-9+/]"
                                  r"{20,}={0,2})(?=;|\s|$|['\"])", 0.85),
    _r("azure_client_secret", rf"{_B}[A-Za-z0-9_~.-]{{3}}\dQ~[A-Za-z0-9_~.-]{{31,34}}{_E}", 0.85),
    _r("azure_app_config", r"(?i)Endpoint=https://[\w.-]+\.azconfig\.io;Id=[\w/+-]+;"
                           r"Secret=(?P<v>[A-Za-z0-9/+=]{20,})"),
    _r("teams_webhook", r"https://[\w.-]*(?:webhook\.office\.com|outlook\.office(?:365)?\.com)/"
                        r"webhook(?:b2)?/[0-9a-f-]{36}@[0-9a-f-]{36}/IncomingWebhook/[0-9a-f]{32}/"
                        r"[0-9a-f-]{36}"),
    _r("digitalocean_token", rf"{_B}do[opr]_v1_[0-9a-f]{{64}}{_E}"),
    _r("heroku_api_key", _near(r"heroku", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                                          r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), 0.8),
    _r("databricks_token", rf"{_B}dapi[0-9a-f]{{32}}(?:-\d)?{_E}"),
    _r("doppler_token", rf"{_B}dp\.(?:pt|st|ct|scim|audit|sa)\.[A-Za-z0-9_.-]{{40,64}}{_E}"),
    _r("dynatrace_token", rf"{_B}dt0[a-z]\d{{2}}\.[A-Z0-9]{{24}}\.[A-Z0-9]{{64}}{_E}"),
    _r("hashicorp_vault_token", rf"{_B}hv[sbr]\.[\w-]{{24,}}"),
    _r("hashicorp_vault_token", _near(r"vault[\w-]*token|x-vault-token",
                                      r"[sbr]\.[A-Za-z0-9_-]{24,}"), 0.85),
    _r("hashicorp_vault_unseal_key", r"(?i)unseal(?:\s+key\s*\d*:)?\s+(?P<v>[A-Za-z0-9+/]{43,44}"
                                     r"={0,2})(?![\w+/])", 0.9),
    _r("kubernetes_bootstrap_token", r"(?i)(?:token|bootstrap)[\w-]*\W{0,4}(?P<v>[a-z0-9]{6}"
                                     r"\.[a-z0-9]{16})(?![\w.])", 0.85),
    _r("truenas_api_key", rf"{_B}\d{{1,3}}-[A-Za-z0-9]{{64}}{_E}", 0.75),
    _r("particle_io_token", _near(r"particle|access_token", r"[0-9a-f]{40}"), 0.8),
    _r("thingsboard_token", r"(?i)/api/v1/(?P<v>[A-Za-z0-9]{20})/(?:telemetry|attributes|rpc)",
       0.85),
    _r("thingsboard_token", _near(r"provision[_-]?device[_-]?(?:key|secret)|access_?token",
                                  r"[A-Za-z0-9]{20}"), 0.75),
    _r("blynk_token", _near(r"blynk[\w]*(?:token|secret|auth)|BLYNK_AUTH_TOKEN",
                            r"[\w-]{32,40}"), 0.85),
    _r("blynk_client_secret", r"\boa2-client-id_[\w-]{32}:(?P<v>[A-Za-z0-9]{40})\b"),
    _r("blynk_token", r"(?i)blynk\.cloud/external/api/[\w?&=]*?token=(?P<v>[\w-]{32})", 0.85),
    _r("blynk_token", r"(?i)blynk[\w.]*\.cloud/oauth2/token\?[^\s'\"]*client_secret=(?P<v>\w+)",
       0.85),
    # -- SaaS ----------------------------------------------------------------------------
    _r("slack_token", rf"{_B}xox[abposre]-(?:\d+-)*[A-Za-z0-9-]{{10,}}"),
    _r("slack_app_token", rf"{_B}xapp-\d*-?[\w/-]{{20,}}"),
    _r("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[\w/]{20,}"),
    _r("stripe_key", rf"{_B}(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{{20,99}}{_E}", 0.9),
    _r("square_token", rf"{_B}(?:sq0atp|sq0csp|EAAA)[\w-]{{22,60}}{_E}"),
    _r("shopify_token", rf"{_B}shp(?:at|ca|pa|ss)_[0-9a-fA-F]{{32}}{_E}"),
    _r("shopify_domain", rf"{_B}[a-z0-9][a-z0-9-]*\.myshopify\.com", 0.55),
    _r("mailgun_api_key", rf"{_B}key-[0-9a-f]{{32}}{_E}"),
    _r("mailchimp_api_key", rf"{_B}[0-9a-f]{{32}}-us\d{{1,2}}{_E}"),
    _r("sendgrid_api_key", rf"{_B}SG\.[\w-]{{22}}\.[\w-]{{43}}{_E}"),
    _r("postmark_token", _near(r"postmark|x-postmark-server-token",
                               r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
       0.85),
    _r("mapbox_token", rf"{_B}[pst]k\.eyJ1Ijoi[\w-]+\.[\w-]{{20,}}"),
    _r("new_relic_key", rf"{_B}NR(?:AK|AA|II|IQ|RA|SP)-[A-Za-z0-9_-]{{27,32}}{_E}"),
    _r("new_relic_key", rf"{_B}[0-9a-z]{{36}}NRAL{_E}"),
    _r("new_relic_key", rf"{_B}px-(?:api|dep)-[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-"
                        rf"[0-9a-f]{{4}}-[0-9a-f]{{12}}{_E}"),
    _r("new_relic_key", _near(r"new_?relic[\w.]*(?:key|license)|nr_?license|license_?key",
                              r"[0-9a-f]{40}"), 0.85),
    _r("okta_token", _near(r"okta[\w]*|ssws", r"00[\w-]{40}"), 0.85),
    # Okta API tokens are `00` and 40 URL-safe characters; with "okta" in the few lines above
    # (a Terraform variable, a YAML block) the shape is specific enough.
    _r("okta_token", r"(?is)okta.{0,80}?(?<![\w-])(?P<v>00[A-Za-z0-9_-]{40})(?![\w-])", 0.9),
    _r("twilio_key", rf"{_B}(?:SK|AC)[0-9a-f]{{32}}{_E}", 0.85),
    _r("telegram_bot_token", rf"{_B}\d{{8,10}}:AA[\w-]{{30,35}}{_E}"),
    _r("discord_token", rf"{_B}[MNO][\w-]{{23,25}}\.[\w-]{{6}}\.[\w-]{{27,38}}{_E}"),
    _r("dropbox_token", rf"{_B}sl\.[A-Za-z0-9_-]{{130,152}}"),
    _r("figma_token", rf"{_B}figd_[\w-]{{40}}{_E}"),
    _r("facebook_token", rf"{_B}EAA[A-Za-z0-9]{{90,}}"),
    _r("facebook_secret", _near(r"facebook|fb_?(?:app)?_?secret|fb", r"[0-9a-f]{32}"), 0.8),
    _r("twitter_secret", _near(r"twitter|twtr", r"[A-Za-z0-9]{35,50}"), 0.8),
    _r("twitter_client_id", _near(r"twitter|twtr", r"[A-Za-z0-9]{18,25}"), 0.7),
    _r("linkedin_secret", _near(r"linkedin|linked_in", r"[A-Za-z0-9]{16}|[a-z0-9]{12,14}"), 0.75),
    _r("salesforce_token", rf"{_B}00[A-Za-z0-9]{{13}}![\w.]{{90,100}}"),
    _r("segment_token", rf"{_B}sgp_[A-Za-z0-9]{{64}}{_E}"),
    _r("twitch_stream_key", rf"{_B}live_\d{{6,10}}_[A-Za-z0-9]{{30}}{_E}"),
    _r("adafruit_io_key", rf"{_B}aio_[A-Za-z0-9]{{28}}{_E}"),
    _r("adobe_client_secret", rf"{_B}p8e-[\w-]{{32}}{_E}"),
    _r("artifactory_key", rf"{_B}AKCp[A-Za-z0-9]{{69}}{_E}"),
    _r("nasa_api_key", _near(r"nasa|api\.nasa\.gov[^\s]*api_key", r"[A-Za-z0-9]{40}"), 0.8),
    _r("nasa_api_key", r"api\.nasa\.gov/[^\s'\"]*api_key=(?P<v>[A-Za-z0-9]{40})", 0.9),
    _r("kagi_api_key", _near(r"kagi", r"[\w-]{11}\.[\w-]{43}"), 0.85),
    _r("grafana_token", rf"{_B}(?:glc_[A-Za-z0-9+/]{{32,400}}={{0,2}}|glsa_[A-Za-z0-9]{{32}}_"
                        rf"[0-9a-f]{{8}}|eyJrIjoi[A-Za-z0-9]{{60,100}})"),
    _r("auth0_client_secret", _near(r"auth0[\w]*secret", r"[\w-]{64}"), 0.85),
    _r("gitalk_secret", r"(?i)clientSecret\W{1,6}(?P<v>[0-9a-f]{40})", 0.85),
    _r("age_secret_key", rf"{_B}AGE-SECRET-KEY-1[0-9A-Z]{{58}}{_E}"),
    _r("age_recipient", rf"{_B}age1[0-9a-z]{{58}}{_E}", 0.6),
    _r("wireguard_key", r"(?i)(?:PrivateKey|PresharedKey)\s*=\s*(?P<v>[A-Za-z0-9+/]{43}=)"),
    # -- keys, hashes and credentials in code or config ------------------------------------
    _r("private_key", r"-----BEGIN[ A-Z0-9]{0,20} PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,8000}?"
                      r"(?:-----END[ A-Z0-9]{0,20} PRIVATE KEY(?: BLOCK)?-----|$)"),
    _r("private_key", rf"{_B}LS0tLS1CRUdJTi[A-Za-z0-9+/]{{0,20}}(?:UFJJVkFURSBLRV|SVZBVEUgS0VZ|"
                      rf"QUklWQVRFIEtFW)[A-Za-z0-9+/=]{{20,}}"),
    _r("private_key", r"PuTTY-User-Key-File-\d: [\s\S]{0,4000}?Private-Lines: \d+"),
    _r("password_hash", rf"{_B}\$2[abxy]?\$\d{{2}}\$[./A-Za-z0-9]{{53}}"),
    _r("password_hash", r"(?<![\w$])\$(?:1|5|6|apr1)\$(?:rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$"
                        r"[./A-Za-z0-9]{22,86}"),
    _r("password_hash", r"\$krb5(?:asrep|tgs)\$\d{2}\$(?:[^\s:$]+:)?[0-9a-f]{32}\$[0-9a-f]{64,}"),
    _r("password_hash", r"\$8\$[./A-Za-z0-9]{14}\$[./A-Za-z0-9]{43}"),
    _r("jwt", rf"{_B}eyJ[\w-]{{10,}}\.eyJ[\w-]{{10,}}\.[\w-]{{10,}}", 0.85),
    # YAML: `jwt:` then, nested below it, `secret:` / `key:`.
    _r("jwt_secret", r"(?im)^[ \t]*jwt[\w-]*[ \t]*:[ \t]*\n(?:[ \t]+[^\n]*\n){0,6}?[ \t]+"
                     r"(?:secret|key|signing_?key)[ \t]*:[ \t]*(?P<q>['\"]?)(?P<v>[^'\"\s]{6,})"
                     r"(?P=q)[ \t]*$", 0.85),
    _r("jwt_secret", r"(?i)jwt[\w-]*secret\W{1,5}(?P<q>['\"])(?P<v>.{8,}?)(?P=q)\s*$", 0.85,
       re.MULTILINE),
    _r("jwt_secret", _near(r"jwt[\w]*(?:secret|key)|secret_?key_?base|JWT_SECRET",
                           r"[^\s'\"]{8,}"), 0.85),
    _r("django_secret_key", r"(?i)SECRET_KEY\s*=\s*['\"](?P<v>[^'\"\s]{30,})['\"]", 0.9),
    _r("connection_string_password",
       r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|"
       r"sqlserver|oracle|jdbc:[a-z]+|ftp|sftp|smtp|ldap|couchdb|neo4j|clickhouse|snowflake)"
       r"://[^\s:/@'\"]+:(?P<v>[^\s@/'\"]{3,})@[\w.\[\]%:-]+", 0.9),
    _r("connection_string_password",
       r"(?i)(?:^|[;\s'\"])(?:password|pwd)\s*=\s*(?!env\.|\$)"
       r"(?P<v>[^;'\"\s<>{}$\[\]()]{3,})(?=;|['\"]|\s*$)", 0.8),
    _r("connection_string_password",
       r"(?i)[?&]password=(?P<v>[^&\s'\"]{4,})", 0.7),
    # Terraform: a variable named like a credential, with a literal default.
    _r("terraform_variable_secret",
       r"(?is)variable\s+\"[\w-]*(?:token|secret|password|passwd|api_?key|private_?key)[\w-]*\""
       r"\s*\{[^}]{0,300}?\bdefault\s*=\s*\"(?P<v>[^\"$]{8,})\"", 0.75),
    # Prose that states a password: "the password for user 'x' is 'y'".
    _r("password", r"(?i)\bpassword\b[^.\n]{0,40}?\bis\s+(?P<q>['\"`])(?P<v>[^'\"`\n]{3,64})(?P=q)",
       0.7),
    _r("netrc_credentials", r"(?i)\bmachine\s+\S+\s+login\s+\S+\s+password\s+(?P<v>\S+)", 0.9),
    _r("netrc_credentials", r"(?i)^\s*password\s+(?P<v>\S{4,})\s*$", 0.6),
    _r("http_basic_auth", r"(?i)Authorization:\s*Basic\s+(?P<v>[A-Za-z0-9+/]{8,}={0,2})", 0.9),
    _r("http_basic_auth", r"(?i)https?://[^\s:/@'\"]+:(?P<v>[^\s:/@'\"]{3,})@[\w.-]+", 0.85),
    _r("bearer_token", r"(?i)Authorization:\s*Bearer\s+(?P<v>[A-Za-z0-9._~+/-]{8,}=*)", 0.9),
    _r("bearer_token", r"(?i)\bBearer\s+(?P<v>[A-Za-z0-9._~+/-]{24,}=*)", 0.75),
    _r("psexec_credentials", r"(?i)psexec(?:64)?(?:\.exe)?\b[^\n]*?\s-p\s+(?P<v>\S+)", 0.9),
    _r("powershell_credentials", r"(?i)(?:Connect-VIServer|New-PSDrive|Invoke-Command|"
                                 r"ConvertTo-SecureString)\b[^\n]*?-Password\s+"
                                 r"(?P<v>['\"]?[^\s'\"]+['\"]?)", 0.9),
    _r("dotnet_credentials", r"(?:NetworkCredential|DirectoryEntry)\s*\([^)]*?,\s*\"[^\"]*\""
                             r"\s*,\s*\"(?P<v>[^\"]{3,})\"", 0.85),
    _r("dotnet_credentials",
       r"new\s+NetworkCredential\s*\(\s*\"[^\"]+\"\s*,\s*\"(?P<v>[^\"]{3,})\"", 0.85),
    _r("gradle_credentials",
       r"(?i)credentials\s*\{[^}]*?password\s*(?:=\s*)?['\"](?P<v>[^'\"$]{3,})['\"]", 0.85),
    _r("phpmailer_credentials", r"\$\w+->Password\s*=\s*['\"](?P<v>[^'\"]{3,})['\"]", 0.9),
    _r("react_app_credential", r"(?i)REACT_APP_\w*(?:PASS|PASSWORD|PASSWD|USER|USERNAME|SECRET|"
                               r"TOKEN|KEY)\w*\s*[:=]\s*['\"]?(?P<v>[^\s'\"$#]{3,})", 0.8),
    _r("dotnet_config_secret", r"(?i)<add\s+key=\"[^\"]*(?:password|secret|token|apikey|api_key|"
                               r"connectionstring)[^\"]*\"\s+value=\"(?P<v>[^\"]{3,})\"", 0.8),
)
