package translate

// This file is our Go model of the KFP pipeline spec (pipeline_spec.proto, schemaVersion 2.1.0), with the JSON
// names the KFP SDK writes. The KFP Go module is not available here, so the model is written from the format and
// checked against the corpus of SDK-compiled pipelines. Fields not modelled here are rejected by the strict
// decoder, so an unknown IR feature can never be dropped silently. Fields of the proto that kfp-argo does not
// compile are modelled with an `unsupported:"why"` tag: the decoder rejects them by name when they are set
// (TestIRModelCoversTheProto keeps the model complete against KFP's current .proto files).

// PipelineSpec is the first (or only) document of a compiled pipeline file.
type PipelineSpec struct {
	PipelineInfo        PipelineInfo              `json:"pipelineInfo"`
	DeploymentSpec      DeploymentSpec            `json:"deploymentSpec"`
	SDKVersion          string                    `json:"sdkVersion"`
	SchemaVersion       string                    `json:"schemaVersion"`
	Components          map[string]*ComponentSpec `json:"components"`
	Root                *ComponentSpec            `json:"root"`
	DefaultPipelineRoot string                    `json:"defaultPipelineRoot"`
}

type PipelineInfo struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
}

// ComponentSpec is either an executor-backed component (ExecutorLabel) or a DAG (sub-pipeline).
type ComponentSpec struct {
	InputDefinitions  *InputsSpec  `json:"inputDefinitions"`
	OutputDefinitions *OutputsSpec `json:"outputDefinitions"`
	DAG               *DAGSpec     `json:"dag"`
	ExecutorLabel     string       `json:"executorLabel"`

	SinglePlatformSpecs    any `json:"singlePlatformSpecs,omitempty" unsupported:"platform specs attached to a component (kfp-argo reads the platform spec document)"`
	TaskConfigPassthroughs any `json:"taskConfigPassthroughs,omitempty" unsupported:"task config passthroughs (for Vertex custom jobs)"`
}

type InputsSpec struct {
	Artifacts  map[string]*ArtifactSpec  `json:"artifacts"`
	Parameters map[string]*ParameterSpec `json:"parameters"`
}

type OutputsSpec struct {
	Artifacts  map[string]*ArtifactSpec        `json:"artifacts"`
	Parameters map[string]*OutputParameterSpec `json:"parameters"`
}

type ArtifactSpec struct {
	ArtifactType   ArtifactTypeSchema `json:"artifactType"`
	IsArtifactList bool               `json:"isArtifactList"`
	IsOptional     bool               `json:"isOptional"`
	Description    string             `json:"description"`

	Properties       any `json:"properties,omitempty" unsupported:"output artifact properties (deprecated in KFP)"`
	CustomProperties any `json:"customProperties,omitempty" unsupported:"output artifact custom properties (deprecated in KFP)"`
	Metadata         any `json:"metadata,omitempty" unsupported:"output artifact metadata set at compile time"`
}

type ArtifactTypeSchema struct {
	SchemaTitle    string `json:"schemaTitle"`
	SchemaVersion  string `json:"schemaVersion"`
	InstanceSchema string `json:"instanceSchema"`
	SchemaURI      any    `json:"schemaUri,omitempty" unsupported:"artifact types given by schemaUri (deprecated in KFP; use schemaTitle)"`
}

// ParameterSpec is an input parameter definition. DefaultValue is a google.protobuf.Value: any JSON value.
// Literals are the allowed values of a dsl.Literal[...] input.
type ParameterSpec struct {
	ParameterType string `json:"parameterType"`
	DefaultValue  any    `json:"defaultValue"`
	IsOptional    bool   `json:"isOptional"`
	Description   string `json:"description"`
	Literals      []any  `json:"literals,omitempty"`
	Type          any    `json:"type,omitempty" unsupported:"the deprecated primitive type field (KFP SDK 1.x; SDK 2 writes parameterType)"`
}

type OutputParameterSpec struct {
	ParameterType string `json:"parameterType"`
	Description   string `json:"description"`
	Type          any    `json:"type,omitempty" unsupported:"the deprecated primitive type field (KFP SDK 1.x; SDK 2 writes parameterType)"`
}

type DAGSpec struct {
	Tasks   map[string]*TaskSpec `json:"tasks"`
	Outputs *DAGOutputsSpec      `json:"outputs"`
}

type DAGOutputsSpec struct {
	Artifacts  map[string]*DAGOutputArtifactSpec  `json:"artifacts"`
	Parameters map[string]*DAGOutputParameterSpec `json:"parameters"`
}

type DAGOutputArtifactSpec struct {
	ArtifactSelectors []ArtifactSelector `json:"artifactSelectors"`
}

type ArtifactSelector struct {
	ProducerSubtask   string `json:"producerSubtask"`
	OutputArtifactKey string `json:"outputArtifactKey"`
}

type DAGOutputParameterSpec struct {
	ValueFromParameter *ParameterSelector  `json:"valueFromParameter"`
	ValueFromOneof     *ParameterSelectors `json:"valueFromOneof"`
}

type ParameterSelector struct {
	ProducerSubtask    string `json:"producerSubtask"`
	OutputParameterKey string `json:"outputParameterKey"`
}

type ParameterSelectors struct {
	ParameterSelectors []ParameterSelector `json:"parameterSelectors"`
}

// TaskSpec is one node of a DAG (PipelineTaskSpec in the proto).
type TaskSpec struct {
	TaskInfo          TaskInfo               `json:"taskInfo"`
	Inputs            *TaskInputsSpec        `json:"inputs"`
	DependentTasks    []string               `json:"dependentTasks"`
	CachingOptions    *CachingOptions        `json:"cachingOptions"`
	ComponentRef      ComponentRef           `json:"componentRef"`
	TriggerPolicy     *TriggerPolicy         `json:"triggerPolicy"`
	ParameterIterator *ParameterIteratorSpec `json:"parameterIterator"`
	ArtifactIterator  *ArtifactIteratorSpec  `json:"artifactIterator"`
	IteratorPolicy    *IteratorPolicy        `json:"iteratorPolicy"`
	RetryPolicy       *RetryPolicy           `json:"retryPolicy"`
}

type TaskInfo struct {
	Name string `json:"name"`
}

type ComponentRef struct {
	Name string `json:"name"`
}

type CachingOptions struct {
	EnableCache bool   `json:"enableCache"`
	CacheKey    string `json:"cacheKey"`
}

type TriggerPolicy struct {
	Condition string `json:"condition"`
	Strategy  string `json:"strategy"`
}

type ParameterIteratorSpec struct {
	Items     ParameterItems `json:"items"`
	ItemInput string         `json:"itemInput"`
}

type ParameterItems struct {
	Raw            string `json:"raw"`
	InputParameter string `json:"inputParameter"`
}

type ArtifactIteratorSpec struct {
	Items     ArtifactItems `json:"items"`
	ItemInput string        `json:"itemInput"`
}

type ArtifactItems struct {
	InputArtifact string `json:"inputArtifact"`
}

type IteratorPolicy struct {
	ParallelismLimit int `json:"parallelismLimit"`
}

type RetryPolicy struct {
	MaxRetryCount      int     `json:"maxRetryCount"`
	BackoffDuration    string  `json:"backoffDuration"`
	BackoffFactor      float64 `json:"backoffFactor"`
	BackoffMaxDuration string  `json:"backoffMaxDuration"`
}

type TaskInputsSpec struct {
	Parameters map[string]*TaskInputParameter `json:"parameters"`
	Artifacts  map[string]*TaskInputArtifact  `json:"artifacts"`
}

// TaskInputParameter has exactly one source.
type TaskInputParameter struct {
	ComponentInputParameter     string               `json:"componentInputParameter"`
	TaskOutputParameter         *TaskOutputParameter `json:"taskOutputParameter"`
	RuntimeValue                *RuntimeValue        `json:"runtimeValue"`
	TaskFinalStatus             *TaskFinalStatus     `json:"taskFinalStatus"`
	ParameterExpressionSelector string               `json:"parameterExpressionSelector"`
}

type TaskOutputParameter struct {
	ProducerTask       string `json:"producerTask"`
	OutputParameterKey string `json:"outputParameterKey"`
}

// RuntimeValue holds a constant (a google.protobuf.Value: any JSON value).
type RuntimeValue struct {
	Constant         any `json:"constant"`
	ConstantValue    any `json:"constantValue,omitempty" unsupported:"the deprecated constantValue (KFP SDK 1.x; SDK 2 writes constant)"`
	RuntimeParameter any `json:"runtimeParameter,omitempty" unsupported:"task inputs from a runtime parameter (SDK 2 writes componentInputParameter)"`
}

type TaskFinalStatus struct {
	ProducerTask string `json:"producerTask"`
}

type TaskInputArtifact struct {
	TaskOutputArtifact     *TaskOutputArtifact `json:"taskOutputArtifact"`
	ComponentInputArtifact string              `json:"componentInputArtifact"`
}

type TaskOutputArtifact struct {
	ProducerTask      string `json:"producerTask"`
	OutputArtifactKey string `json:"outputArtifactKey"`
}

type DeploymentSpec struct {
	Executors map[string]*ExecutorSpec `json:"executors"`
}

type ExecutorSpec struct {
	Container *ContainerSpec `json:"container"`
	Importer  *ImporterSpec  `json:"importer"`
	// Resolver and CustomJob are executor kinds of the format that kfp-argo does not run; they are modelled so
	// that they are reported by name instead of as unknown fields.
	Resolver  any `json:"resolver"`
	CustomJob any `json:"customJob"`
}

type ContainerSpec struct {
	Image     string        `json:"image"`
	Command   []string      `json:"command"`
	Args      []string      `json:"args"`
	Env       []EnvVar      `json:"env"`
	Resources *ResourceSpec `json:"resources"`
	Lifecycle any           `json:"lifecycle"`
}

type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type ResourceSpec struct {
	CPULimit              float64            `json:"cpuLimit"`
	MemoryLimit           float64            `json:"memoryLimit"`
	CPURequest            float64            `json:"cpuRequest"`
	MemoryRequest         float64            `json:"memoryRequest"`
	ResourceCPULimit      string             `json:"resourceCpuLimit"`
	ResourceMemoryLimit   string             `json:"resourceMemoryLimit"`
	ResourceCPURequest    string             `json:"resourceCpuRequest"`
	ResourceMemoryRequest string             `json:"resourceMemoryRequest"`
	Accelerator           *AcceleratorConfig `json:"accelerator"`
}

type AcceleratorConfig struct {
	Type          string `json:"type"`
	Count         int64  `json:"count"`
	ResourceType  string `json:"resourceType"`
	ResourceCount string `json:"resourceCount"`
}

type ImporterSpec struct {
	ArtifactURI         ImporterURI        `json:"artifactUri"`
	TypeSchema          ArtifactTypeSchema `json:"typeSchema"`
	Reimport            bool               `json:"reimport"`
	Metadata            map[string]any     `json:"metadata"`
	DownloadToWorkspace bool               `json:"downloadToWorkspace"`
	Properties          any                `json:"properties,omitempty" unsupported:"importer properties (deprecated in KFP; use metadata)"`
	CustomProperties    any                `json:"customProperties,omitempty" unsupported:"importer custom properties (deprecated in KFP; use metadata)"`
}

type ImporterURI struct {
	Constant         any    `json:"constant"`
	RuntimeParameter string `json:"runtimeParameter"`
	ConstantValue    any    `json:"constantValue,omitempty" unsupported:"the deprecated constantValue (KFP SDK 1.x; SDK 2 writes constant)"`
}

// PlatformSpec is the optional second document written by kfp-kubernetes (pipeline_spec.proto PlatformSpec). Its
// "kubernetes" entry is modelled field by field after kfp-kubernetes' kubernetes_executor_config.proto, so an
// unknown field is a decode error with its IR path, and a known field kfp-argo cannot apply is a compile error
// that names it.
type PlatformSpec struct {
	Platforms map[string]*SinglePlatformSpec `json:"platforms"`
}

type SinglePlatformSpec struct {
	DeploymentSpec *PlatformDeploymentSpec `json:"deploymentSpec"`
	PipelineConfig *PipelineConfig         `json:"pipelineConfig"`
	// Platform and Config are fields of the format that kfp-kubernetes does not write; they are modelled so
	// that they are reported by name.
	Platform string         `json:"platform"`
	Config   map[string]any `json:"config"`
}

type PlatformDeploymentSpec struct {
	Executors map[string]*KubernetesExecutorConfig `json:"executors"`
}

// PipelineConfig is the pipeline-level configuration (dsl.PipelineConfig).
// PipelineConfig is dsl.PipelineConfig: TTLs (seconds) and the deadline map onto the Workflow's ttlStrategy and
// activeDeadlineSeconds; compile flags win over them.
type PipelineConfig struct {
	SemaphoreKey            string           `json:"semaphoreKey"`
	MutexName               string           `json:"mutexName"`
	ResourceTTL             int64            `json:"resourceTtl"`
	Workspace               *WorkspaceConfig `json:"workspace"`
	ResourceTTLOnCompletion int64            `json:"resourceTtlOnCompletion,omitempty"`
	ResourceTTLOnSuccess    int64            `json:"resourceTtlOnSuccess,omitempty"`
	ResourceTTLOnFailure    int64            `json:"resourceTtlOnFailure,omitempty"`
	ActiveDeadlineSeconds   int64            `json:"activeDeadlineSeconds,omitempty"`
}

type WorkspaceConfig struct {
	Size       string                     `json:"size"`
	Kubernetes *KubernetesWorkspaceConfig `json:"kubernetes"`
}

type KubernetesWorkspaceConfig struct {
	// PvcSpecPatch is a partial PersistentVolumeClaimSpec (a google.protobuf.Struct); it is decoded strictly
	// against the Kubernetes type when compiling.
	PvcSpecPatch map[string]any `json:"pvcSpecPatch"`
}

// KubernetesExecutorConfig is what kfp-kubernetes sets on the tasks that use one executor.
type KubernetesExecutorConfig struct {
	SecretAsVolume         []SecretAsVolume         `json:"secretAsVolume"`
	SecretAsEnv            []SecretAsEnv            `json:"secretAsEnv"`
	PvcMount               []PvcMount               `json:"pvcMount"`
	NodeSelector           *NodeSelector            `json:"nodeSelector"`
	PodMetadata            *PodMetadata             `json:"podMetadata"`
	ImagePullSecret        []ImagePullSecret        `json:"imagePullSecret"`
	ImagePullPolicy        string                   `json:"imagePullPolicy"`
	ConfigMapAsVolume      []ConfigMapAsVolume      `json:"configMapAsVolume"`
	ConfigMapAsEnv         []ConfigMapAsEnv         `json:"configMapAsEnv"`
	ActiveDeadlineSeconds  int64                    `json:"activeDeadlineSeconds"`
	FieldPathAsEnv         []FieldPathAsEnv         `json:"fieldPathAsEnv"`
	Tolerations            []Toleration             `json:"tolerations"`
	GenericEphemeralVolume []GenericEphemeralVolume `json:"genericEphemeralVolume"`
	NodeAffinity           []NodeAffinityTerm       `json:"nodeAffinity"`
	PodAffinity            []PodAffinityTerm        `json:"podAffinity"`
	EnabledSharedMemory    *EnabledSharedMemory     `json:"enabledSharedMemory"`
	EmptyDirMounts         []EmptyDirMount          `json:"emptyDirMounts"`
	SecurityContext        *SecurityContext         `json:"securityContext"`
	InitContainers         []InitContainer          `json:"initContainers"`
	PodResourceClaims      []PodResourceClaim       `json:"podResourceClaims"`
}

// Names that may come from parameters are InputParameterSpecs of the pipeline spec (TaskInputParameter here),
// resolved in the scope of the DAG that holds the task. The plain name fields are deprecated by the format but
// still written by older SDKs.

type SecretAsVolume struct {
	SecretName          string              `json:"secretName"`
	MountPath           string              `json:"mountPath"`
	Optional            *bool               `json:"optional"`
	SecretNameParameter *TaskInputParameter `json:"secretNameParameter"`
}

type SecretAsEnv struct {
	SecretName          string              `json:"secretName"`
	KeyToEnv            []SecretKeyToEnv    `json:"keyToEnv"`
	Optional            *bool               `json:"optional"`
	SecretNameParameter *TaskInputParameter `json:"secretNameParameter"`
}

type SecretKeyToEnv struct {
	SecretKey string `json:"secretKey"`
	EnvVar    string `json:"envVar"`
}

type PvcMount struct {
	// The deprecated one-of pvc_reference.
	TaskOutputParameter     *TaskOutputParameter `json:"taskOutputParameter"`
	Constant                string               `json:"constant"`
	ComponentInputParameter string               `json:"componentInputParameter"`

	MountPath        string              `json:"mountPath"`
	PvcNameParameter *TaskInputParameter `json:"pvcNameParameter"`
	SubPath          string              `json:"subPath"`
}

type NodeSelector struct {
	Labels           map[string]string   `json:"labels"`
	NodeSelectorJSON *TaskInputParameter `json:"nodeSelectorJson"`
}

type PodMetadata struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type ConfigMapAsVolume struct {
	ConfigMapName          string              `json:"configMapName"`
	MountPath              string              `json:"mountPath"`
	Optional               *bool               `json:"optional"`
	ConfigMapNameParameter *TaskInputParameter `json:"configMapNameParameter"`
}

type ConfigMapAsEnv struct {
	ConfigMapName          string              `json:"configMapName"`
	KeyToEnv               []ConfigMapKeyToEnv `json:"keyToEnv"`
	ConfigMapNameParameter *TaskInputParameter `json:"configMapNameParameter"`
	Optional               *bool               `json:"optional"`
}

type ConfigMapKeyToEnv struct {
	ConfigMapKey string `json:"configMapKey"`
	EnvVar       string `json:"envVar"`
}

type GenericEphemeralVolume struct {
	VolumeName          string       `json:"volumeName"`
	MountPath           string       `json:"mountPath"`
	AccessModes         []string     `json:"accessModes"`
	Size                string       `json:"size"`
	DefaultStorageClass bool         `json:"defaultStorageClass"`
	StorageClassName    string       `json:"storageClassName"`
	Metadata            *PodMetadata `json:"metadata"`
}

type ImagePullSecret struct {
	SecretName          string              `json:"secretName"`
	SecretNameParameter *TaskInputParameter `json:"secretNameParameter"`
}

type FieldPathAsEnv struct {
	Name      string `json:"name"`
	FieldPath string `json:"fieldPath"`
}

type Toleration struct {
	Key               string              `json:"key"`
	Operator          string              `json:"operator"`
	Value             string              `json:"value"`
	Effect            string              `json:"effect"`
	TolerationSeconds *int64              `json:"tolerationSeconds"`
	TolerationJSON    *TaskInputParameter `json:"tolerationJson"`
}

type SelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

type NodeAffinityTerm struct {
	MatchExpressions []SelectorRequirement `json:"matchExpressions"`
	MatchFields      []SelectorRequirement `json:"matchFields"`
	Weight           *int64                `json:"weight"`
	NodeAffinityJSON *TaskInputParameter   `json:"nodeAffinityJson"`
}

type PodAffinityTerm struct {
	MatchPodExpressions       []SelectorRequirement `json:"matchPodExpressions"`
	MatchPodLabels            map[string]string     `json:"matchPodLabels"`
	TopologyKey               string                `json:"topologyKey"`
	Namespaces                []string              `json:"namespaces"`
	MatchNamespaceExpressions []SelectorRequirement `json:"matchNamespaceExpressions"`
	MatchNamespaceLabels      map[string]string     `json:"matchNamespaceLabels"`
	Weight                    *int64                `json:"weight"`
	Anti                      *bool                 `json:"anti"`
}

type EnabledSharedMemory struct {
	VolumeName string `json:"volumeName"`
	Size       string `json:"size"`
}

type EmptyDirMount struct {
	VolumeName string  `json:"volumeName"`
	MountPath  string  `json:"mountPath"`
	Medium     *string `json:"medium"`
	SizeLimit  *string `json:"sizeLimit"`
}

type SecurityContext struct {
	RunAsUser    *int64 `json:"runAsUser"`
	RunAsGroup   *int64 `json:"runAsGroup"`
	RunAsNonRoot *bool  `json:"runAsNonRoot"`
}

type InitContainer struct {
	Name          string                 `json:"name"`
	Image         string                 `json:"image"`
	Command       []string               `json:"command"`
	Args          []string               `json:"args"`
	Env           []EnvVar               `json:"env"`
	VolumeMounts  []InitVolumeMount      `json:"volumeMounts"`
	RestartPolicy *string                `json:"restartPolicy"`
	Resources     *InitContainerResource `json:"resources"`
}

type InitVolumeMount struct {
	VolumeName string `json:"volumeName"`
	MountPath  string `json:"mountPath"`
}

type InitContainerResource struct {
	Requests map[string]string `json:"requests"`
	Limits   map[string]string `json:"limits"`
}

type PodResourceClaim struct {
	ResourceClaimTemplateName string              `json:"resourceClaimTemplateName"`
	ResourceClaimJSON         *TaskInputParameter `json:"resourceClaimJson"`
}

// Parameter types of the IR (ParameterType enum).
const (
	TypeString          = "STRING"
	TypeInteger         = "NUMBER_INTEGER"
	TypeDouble          = "NUMBER_DOUBLE"
	TypeBoolean         = "BOOLEAN"
	TypeList            = "LIST"
	TypeStruct          = "STRUCT"
	TypeTaskFinalStatus = "TASK_FINAL_STATUS"
)
