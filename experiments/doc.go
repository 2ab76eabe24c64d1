// Package experiments keeps kfp-argo's experiment and run records.
//
// Records live in ConfigMaps next to the Workflows they describe, so they work with kubectl, RBAC and
// GitOps and need no database (docs/records.md has the schema). The package has three parts:
//
//   - the record types (Experiment, Run, Task) and their one encoding, Encode/Decode;
//   - MapWorkflow, a pure function from an Argo Workflow (and the previous record) to a run record;
//   - Store, which reads and writes records through a client-go ConfigMapInterface.
package experiments
