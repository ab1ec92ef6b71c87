"""A catalog of OpenAI-compatible endpoints: each preset is a real, documented base URL, the
environment variable that holds its key (None for local servers, which need none) and a
default model. Every preset becomes a "name/model" provider in the registry:

    resolve("groq/llama-3.3-70b-versatile")
    resolve("vllm/Qwen/Qwen2.5-7B-Instruct", base_url="http://gpu-box:8000/v1")

Base URLs with `{VAR}` placeholders (Azure, Cloudflare, Databricks) are filled from the
environment. Local servers cost $0; gateways that forward to paid APIs report cost unknown.
Checked against each vendor's documentation; Lambda's inference API (shut down in 2025) and
other retired endpoints are deliberately absent.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..errors import ConfigError

PLACEHOLDER = re.compile(r"\{([A-Z0-9_]+)\}")


@dataclass(frozen=True)
class Preset:
    """One OpenAI-compatible endpoint.

    `key_env` is None for servers that need no key; `key_optional` marks local servers
    that accept one when configured. `base_url_env` names a variable that overrides the URL
    (`env_suffix` is appended when the variable's value lacks it). `price_as` looks prices
    up under another provider's name (an OpenAI-compatible door to the same models). `free`
    is True for self-hosted servers ($0) and False for gateways (cost unknown even on
    loopback); None leaves it to the URL.
    """

    name: str
    label: str
    base_url: str
    key_env: str | None
    default_model: str
    local: bool = False
    key_optional: bool = False
    base_url_env: str | None = None
    env_suffix: str = ""
    price_as: str | None = None
    free: bool | None = None
    headers: dict[str, str] = field(default_factory=dict)
    key_header: str | None = None
    docs: str = ""

    def url(self) -> str:
        """The base URL with placeholders filled; ConfigError when a variable is missing."""
        if self.base_url_env and os.environ.get(self.base_url_env):
            value = os.environ[self.base_url_env].strip().rstrip("/")
            if "://" not in value:
                value = "http://" + value
            if self.env_suffix and not value.endswith(self.env_suffix):
                value += self.env_suffix
            return value
        missing = [v for v in PLACEHOLDER.findall(self.base_url) if not os.environ.get(v)]
        if missing:
            raise ConfigError(
                f"{self.label} needs {', '.join(missing)} set to build its URL "
                f"({self.base_url}), or pass base_url=..."
            )
        return PLACEHOLDER.sub(lambda m: os.environ[m.group(1)].rstrip("/"), self.base_url)

    def key_is_set(self) -> bool | None:
        """Whether the key variable is set; None when the preset needs no key."""
        if self.key_env is None:
            return None
        return bool(os.environ.get(self.key_env))


def _cloud(name: str, label: str, url: str, key: str, model: str, **kw: object) -> Preset:
    return Preset(name, label, url, key, model, **kw)  # type: ignore[arg-type]


def _local(name: str, label: str, url: str, model: str, **kw: object) -> Preset:
    kw.setdefault("free", True)
    return Preset(name, label, url, None, model, local=True, **kw)  # type: ignore[arg-type]


PRESETS: tuple[Preset, ...] = (
    # --- model vendors and inference clouds (key required) ---------------------------------
    _cloud("openai", "OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini"),
    _cloud("azure", "Azure OpenAI (v1 API; model = deployment name)",
           "{AZURE_OPENAI_ENDPOINT}/openai/v1", "AZURE_OPENAI_API_KEY", "gpt-4o-mini"),
    _cloud("groq", "Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY",
           "llama-3.3-70b-versatile"),
    _cloud("together", "Together AI", "https://api.together.xyz/v1", "TOGETHER_API_KEY",
           "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    _cloud("fireworks", "Fireworks AI", "https://api.fireworks.ai/inference/v1",
           "FIREWORKS_API_KEY", "accounts/fireworks/models/llama-v3p3-70b-instruct"),
    _cloud("deepseek", "DeepSeek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY",
           "deepseek-chat"),
    _cloud("mistral", "Mistral AI", "https://api.mistral.ai/v1", "MISTRAL_API_KEY",
           "mistral-small-latest"),
    _cloud("codestral", "Mistral Codestral", "https://codestral.mistral.ai/v1",
           "CODESTRAL_API_KEY", "codestral-latest"),
    _cloud("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
           "openai/gpt-4o-mini", free=False),
    _cloud("xai", "xAI (Grok)", "https://api.x.ai/v1", "XAI_API_KEY", "grok-3-mini"),
    _cloud("cerebras", "Cerebras", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY",
           "llama3.1-8b"),
    _cloud("perplexity", "Perplexity", "https://api.perplexity.ai", "PERPLEXITY_API_KEY",
           "sonar"),
    _cloud("deepinfra", "DeepInfra", "https://api.deepinfra.com/v1/openai",
           "DEEPINFRA_API_KEY", "meta-llama/Llama-3.3-70B-Instruct"),
    _cloud("nebius", "Nebius Token Factory", "https://api.tokenfactory.nebius.com/v1",
           "NEBIUS_API_KEY", "meta-llama/Llama-3.3-70B-Instruct"),
    _cloud("sambanova", "SambaNova Cloud", "https://api.sambanova.ai/v1", "SAMBANOVA_API_KEY",
           "Meta-Llama-3.3-70B-Instruct"),
    _cloud("hyperbolic", "Hyperbolic", "https://api.hyperbolic.xyz/v1", "HYPERBOLIC_API_KEY",
           "meta-llama/Llama-3.3-70B-Instruct"),
    _cloud("novita", "Novita AI", "https://api.novita.ai/openai/v1", "NOVITA_API_KEY",
           "meta-llama/llama-3.3-70b-instruct"),
    _cloud("nvidia", "NVIDIA NIM (API catalog)", "https://integrate.api.nvidia.com/v1",
           "NVIDIA_API_KEY", "meta/llama-3.3-70b-instruct"),
    _cloud("cloudflare", "Cloudflare Workers AI",
           "https://api.cloudflare.com/client/v4/accounts/{CLOUDFLARE_ACCOUNT_ID}/ai/v1",
           "CLOUDFLARE_API_TOKEN", "@cf/meta/llama-3.3-70b-instruct-fp8-fast"),
    _cloud("github", "GitHub Models", "https://models.github.ai/inference", "GITHUB_TOKEN",
           "openai/gpt-4o-mini"),
    _cloud("huggingface", "Hugging Face Inference Providers (router)",
           "https://router.huggingface.co/v1", "HF_TOKEN", "meta-llama/Llama-3.1-8B-Instruct"),
    _cloud("dashscope", "Alibaba Cloud Model Studio (DashScope, international)",
           "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY",
           "qwen-plus"),
    _cloud("dashscope-cn", "Alibaba Cloud DashScope (mainland China)",
           "https://dashscope.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY",
           "qwen-plus"),
    _cloud("moonshot", "Moonshot AI (Kimi, international)", "https://api.moonshot.ai/v1",
           "MOONSHOT_API_KEY", "moonshot-v1-8k"),
    _cloud("moonshot-cn", "Moonshot AI (Kimi, mainland China)", "https://api.moonshot.cn/v1",
           "MOONSHOT_API_KEY", "moonshot-v1-8k"),
    _cloud("zhipu", "Zhipu AI BigModel (GLM)", "https://open.bigmodel.cn/api/paas/v4",
           "ZHIPUAI_API_KEY", "glm-4.5"),
    _cloud("zai", "Z.ai (GLM, international)", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY",
           "glm-4.5"),
    _cloud("minimax", "MiniMax", "https://api.minimax.io/v1", "MINIMAX_API_KEY", "MiniMax-M2"),
    _cloud("siliconflow", "SiliconFlow (international)", "https://api.siliconflow.com/v1",
           "SILICONFLOW_API_KEY", "Qwen/Qwen2.5-72B-Instruct"),
    _cloud("siliconflow-cn", "SiliconFlow (mainland China)", "https://api.siliconflow.cn/v1",
           "SILICONFLOW_API_KEY", "Qwen/Qwen2.5-72B-Instruct"),
    _cloud("gemini-openai", "Google Gemini (OpenAI-compatible endpoint)",
           "https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY",
           "gemini-2.5-flash", price_as="gemini"),
    _cloud("anthropic-openai", "Anthropic (OpenAI SDK compatibility endpoint)",
           "https://api.anthropic.com/v1/", "ANTHROPIC_API_KEY", "claude-sonnet-5-5",
           price_as="anthropic"),
    _cloud("cohere", "Cohere (compatibility API)", "https://api.cohere.ai/compatibility/v1",
           "COHERE_API_KEY", "command-a-03-2025"),
    _cloud("ai21", "AI21 Labs (Jamba)", "https://api.ai21.com/studio/v1", "AI21_API_KEY",
           "jamba-mini"),
    _cloud("chutes", "Chutes", "https://llm.chutes.ai/v1", "CHUTES_API_KEY",
           "Qwen/Qwen3-32B-TEE"),
    _cloud("scaleway", "Scaleway Generative APIs", "https://api.scaleway.ai/v1",
           "SCW_SECRET_KEY", "llama-3.3-70b-instruct"),
    _cloud("featherless", "Featherless AI", "https://api.featherless.ai/v1",
           "FEATHERLESS_API_KEY", "meta-llama/Meta-Llama-3.1-8B-Instruct"),
    _cloud("baseten", "Baseten Model APIs", "https://inference.baseten.co/v1",
           "BASETEN_API_KEY", "deepseek-ai/DeepSeek-V3-0324"),
    _cloud("friendli", "FriendliAI Serverless", "https://api.friendli.ai/serverless/v1",
           "FRIENDLI_TOKEN", "meta-llama-3.3-70b-instruct"),
    _cloud("inference-net", "Inference.net", "https://api.inference.net/v1",
           "INFERENCE_API_KEY", "meta-llama/llama-3.1-8b-instruct/fp-8"),
    _cloud("wandb", "W&B Inference (CoreWeave)", "https://api.inference.wandb.ai/v1",
           "WANDB_API_KEY", "meta-llama/Llama-3.1-8B-Instruct"),
    _cloud("nscale", "Nscale Serverless", "https://inference.api.nscale.com/v1",
           "NSCALE_API_KEY", "meta-llama/Llama-3.1-8B-Instruct"),
    _cloud("ovhcloud", "OVHcloud AI Endpoints", "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1",
           "OVH_AI_ENDPOINTS_ACCESS_TOKEN", "Meta-Llama-3_3-70B-Instruct"),
    _cloud("upstage", "Upstage (Solar)", "https://api.upstage.ai/v1", "UPSTAGE_API_KEY",
           "solar-pro"),
    _cloud("llama-api", "Meta Llama API (compatibility)", "https://api.llama.com/compat/v1",
           "LLAMA_API_KEY", "Llama-4-Maverick-17B-128E-Instruct-FP8"),
    _cloud("stepfun", "StepFun", "https://api.stepfun.com/v1", "STEPFUN_API_KEY", "step-1-8k"),
    _cloud("hunyuan", "Tencent Hunyuan", "https://api.hunyuan.cloud.tencent.com/v1",
           "HUNYUAN_API_KEY", "hunyuan-turbo"),
    _cloud("baichuan", "Baichuan AI", "https://api.baichuan-ai.com/v1", "BAICHUAN_API_KEY",
           "Baichuan4"),
    _cloud("volcengine", "Volcengine Ark (Doubao)", "https://ark.cn-beijing.volces.com/api/v3",
           "ARK_API_KEY", "doubao-1-5-pro-32k-250115"),
    _cloud("inception", "Inception Labs (Mercury)", "https://api.inceptionlabs.ai/v1",
           "INCEPTION_API_KEY", "mercury-coder"),
    _cloud("databricks", "Databricks Model Serving", "{DATABRICKS_HOST}/serving-endpoints",
           "DATABRICKS_TOKEN", "databricks-meta-llama-3-3-70b-instruct"),
    # --- gateways (forward to paid APIs: cost unknown unless priced here) ------------------
    _cloud("vercel", "Vercel AI Gateway", "https://ai-gateway.vercel.sh/v1",
           "AI_GATEWAY_API_KEY", "openai/gpt-4o-mini", free=False),
    _cloud("requesty", "Requesty router", "https://router.requesty.ai/v1", "REQUESTY_API_KEY",
           "openai/gpt-4o-mini", free=False),
    _cloud("portkey", "Portkey AI Gateway (model = @provider/model)",
           "https://api.portkey.ai/v1", "PORTKEY_API_KEY", "@openai/gpt-4o-mini",
           key_header="x-portkey-api-key", free=False),
    _cloud("helicone", "Helicone AI Gateway", "https://ai-gateway.helicone.ai",
           "HELICONE_API_KEY", "gpt-4o-mini", free=False),
    Preset("litellm-proxy", "LiteLLM Proxy (self-hosted gateway)", "http://127.0.0.1:4000/v1",
           "LITELLM_API_KEY", "gpt-4o-mini", local=True, key_optional=True,
           base_url_env="LITELLM_PROXY_URL", free=False),
    # --- servers on your own machine or network (no key, $0) -------------------------------
    _local("vllm", "vLLM (model = the served name)", "http://127.0.0.1:8000/v1",
           "Qwen/Qwen2.5-7B-Instruct", base_url_env="VLLM_BASE_URL"),
    _local("sglang", "SGLang", "http://127.0.0.1:30000/v1", "default",
           base_url_env="SGLANG_BASE_URL"),
    _local("tgi", "Hugging Face Text Generation Inference", "http://127.0.0.1:8080/v1", "tgi",
           base_url_env="TGI_BASE_URL"),
    _local("llamacpp", "llama.cpp server (llama-server)", "http://127.0.0.1:8080/v1",
           "default", base_url_env="LLAMACPP_BASE_URL"),
    _local("lmstudio", "LM Studio", "http://127.0.0.1:1234/v1", "qwen2.5-7b-instruct",
           base_url_env="LMSTUDIO_BASE_URL"),
    _local("localai", "LocalAI", "http://127.0.0.1:8080/v1", "llama-3.2-1b-instruct:q4_k_m",
           base_url_env="LOCALAI_BASE_URL"),
    _local("jan", "Jan", "http://127.0.0.1:1337/v1", "llama3.2-3b-instruct",
           base_url_env="JAN_BASE_URL"),
    _local("koboldcpp", "KoboldCpp", "http://127.0.0.1:5001/v1", "koboldcpp",
           base_url_env="KOBOLDCPP_BASE_URL"),
    _local("ollama-openai", "Ollama (OpenAI-compatible /v1)", "http://127.0.0.1:11434/v1",
           "llama3", base_url_env="OLLAMA_HOST", env_suffix="/v1"),
    _local("llamafile", "llamafile", "http://127.0.0.1:8080/v1", "LLaMA_CPP",
           base_url_env="LLAMAFILE_BASE_URL"),
    _local("llama-cpp-python", "llama-cpp-python server", "http://127.0.0.1:8000/v1",
           "default", base_url_env="LLAMA_CPP_PYTHON_BASE_URL"),
    _local("mlx", "MLX LM server (mlx_lm.server)", "http://127.0.0.1:8080/v1",
           "mlx-community/Llama-3.2-3B-Instruct-4bit", base_url_env="MLX_BASE_URL"),
    _local("textgen-webui", "text-generation-webui (OpenAI extension)",
           "http://127.0.0.1:5000/v1", "default", base_url_env="TEXTGEN_BASE_URL"),
    _local("tabbyapi", "TabbyAPI (ExLlamaV2)", "http://127.0.0.1:5000/v1", "default",
           base_url_env="TABBYAPI_BASE_URL"),
    _local("gpt4all", "GPT4All API server", "http://127.0.0.1:4891/v1",
           "Llama 3 8B Instruct", base_url_env="GPT4ALL_BASE_URL"),
    _local("lmdeploy", "LMDeploy api_server", "http://127.0.0.1:23333/v1", "default",
           base_url_env="LMDEPLOY_BASE_URL"),
    _local("aphrodite", "Aphrodite Engine", "http://127.0.0.1:2242/v1", "default",
           base_url_env="APHRODITE_BASE_URL"),
    _local("xinference", "Xorbits Inference", "http://127.0.0.1:9997/v1", "qwen2.5-instruct",
           base_url_env="XINFERENCE_BASE_URL"),
    _local("openllm", "OpenLLM (BentoML)", "http://127.0.0.1:3000/v1", "default",
           base_url_env="OPENLLM_BASE_URL"),
    _local("fastchat", "FastChat OpenAI API server", "http://127.0.0.1:8000/v1", "vicuna-7b-v1.5",
           base_url_env="FASTCHAT_BASE_URL"),
    _local("docker-model-runner", "Docker Model Runner", "http://127.0.0.1:12434/engines/v1",
           "ai/smollm2", base_url_env="DOCKER_MODEL_RUNNER_URL"),
    _local("ramalama", "RamaLama serve", "http://127.0.0.1:8080/v1", "default",
           base_url_env="RAMALAMA_BASE_URL"),
    _local("nim", "NVIDIA NIM (self-hosted container)", "http://127.0.0.1:8000/v1",
           "meta/llama-3.1-8b-instruct", base_url_env="NIM_BASE_URL"),
)

CATALOG: dict[str, Preset] = {p.name: p for p in PRESETS}


def preset(name: str) -> Preset:
    """The preset called `name`; ConfigError listing the known ones otherwise."""
    try:
        return CATALOG[name]
    except KeyError:
        raise ConfigError(
            f"no preset {name!r}; known: {', '.join(sorted(CATALOG))}"
        ) from None


# Context windows (tokens) of common model families, matched by substring, most specific
# first. Used when a provider is built without an explicit `context_window`.
WINDOWS: tuple[tuple[str, int], ...] = (
    ("claude-sonnet-4-6", 1_000_000),
    ("claude-sonnet-5", 1_000_000),
    ("claude-opus-5", 1_000_000),
    ("claude-haiku-5", 1_000_000),
    ("claude-fable", 1_000_000),
    ("claude", 200_000),
    ("gemini-2.5", 1_048_576),
    ("gemini-2.0", 1_048_576),
    ("gpt-4.1", 1_047_576),
    ("gpt-5", 400_000),
    ("gpt-4o", 128_000),
    ("o4-mini", 200_000),
    ("o3", 200_000),
    ("deepseek-chat", 128_000),
    ("deepseek-reasoner", 128_000),
    ("llama-3.3-70b", 131_072),
    ("llama-3.1-8b", 131_072),
    ("mistral-small", 128_000),
    ("grok-3-mini", 131_072),
)


def known_window(model: str) -> int | None:
    """The context window of `model` when its family is known, else None."""
    lowered = model.lower()
    return next((size for key, size in WINDOWS if key in lowered), None)
