//! The compiled schema: one libyang context built from the embedded YANG modules.

use std::collections::HashMap;
use std::sync::Mutex;

use yang3::context::{Context, ContextFlags, EmbeddedModuleKey};

use crate::deps::Dependencies;
use crate::error::ModelError;
use crate::ffi;
use crate::limits::Limits;
use tether_schema::MODULES;

/// Which optional parts of the schema are switched on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaOptions {
    /// Feature `tether-interfaces:simulation`: clients may create simulated interfaces and
    /// drive their carrier. On only with the in-process dataplane. Off means a real Linux
    /// dataplane: the schema then also loads [`LINUX_INTERFACE_NAMES`], which narrows every
    /// configurable interface name to what the kernel can hold.
    pub simulation: bool,
}

/// The deviation module loaded when the simulation is off: no '/' or ':' in interface names
/// (Linux `dev_valid_name`). A deviation rather than a check in code so the rule is in the
/// schema clients read (Capabilities, get-schema), libyang enforces it for gNMI and NETCONF
/// alike with the offending path, and the error text is the pattern's `error-message`.
pub const LINUX_INTERFACE_NAMES: DeviationModule = DeviationModule {
    name: "tether-linux-interface-names",
    revision: "2026-12-03",
    namespace: "urn:tether:yang:tether-linux-interface-names",
    text: include_str!("../../../yang/deviations/tether-linux-interface-names.yang"),
};

/// A module of deviations, embedded like the data modules but loaded only for some options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviationModule {
    pub name: &'static str,
    pub revision: &'static str,
    pub namespace: &'static str,
    pub text: &'static str,
}

/// A module as advertised to clients (gNMI Capabilities, NETCONF hello).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    pub name: &'static str,
    pub revision: &'static str,
    pub organization: &'static str,
    pub namespace: &'static str,
    pub features: Vec<&'static str>,
}

/// The compiled schema. Lives for the whole process (`&'static`): libyang data trees borrow
/// their context, and every tree in Tether is built against this one.
pub struct Schema {
    ctx: Context,
    raw: ffi::CtxPtr,
    options: SchemaOptions,
    modules: Vec<ModuleInfo>,
    /// Deviation modules loaded for these options (advertised, no data nodes of their own).
    deviations: Vec<ModuleInfo>,
    /// What the edit engine may skip (computed once, from the compiled modules).
    deps: Dependencies,
    /// The entry limits the schema declares (`tether-extensions:max-entries*`).
    limits: Limits,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema")
            .field("options", &self.options)
            .field("modules", &self.modules)
            .finish()
    }
}

/// libyang's context creation and module loading are not thread-safe across contexts
/// sharing the global log settings; serialise them.
static LOAD: Mutex<()> = Mutex::new(());

impl Schema {
    /// Compiles the embedded modules. The result is leaked on purpose: a schema is built once
    /// per process (twice in tests) and every data tree borrows it for its whole life.
    pub fn load(options: SchemaOptions) -> Result<&'static Schema, ModelError> {
        let _guard = LOAD.lock().unwrap_or_else(|e| e.into_inner());
        let ctx = Context::new(ContextFlags::NO_YANGLIBRARY | ContextFlags::DISABLE_SEARCHDIRS)
            .map_err(|e| ModelError::Schema(e.to_string()))?;
        let raw = ctx.into_raw();
        // SAFETY: `raw` was just taken apart from a Context and is wrapped exactly once.
        let mut ctx = unsafe { ffi::context_from_raw(raw) };
        ffi::store_all_errors();
        let embedded: HashMap<EmbeddedModuleKey, &'static str> = MODULES
            .iter()
            .map(|m| {
                (
                    EmbeddedModuleKey::new(m.name, Some(m.revision), None, None),
                    m.text,
                )
            })
            .chain(
                MODULES
                    .iter()
                    .map(|m| (EmbeddedModuleKey::new(m.name, None, None, None), m.text)),
            )
            .chain(std::iter::once((
                EmbeddedModuleKey::new(
                    LINUX_INTERFACE_NAMES.name,
                    Some(LINUX_INTERFACE_NAMES.revision),
                    None,
                    None,
                ),
                LINUX_INTERFACE_NAMES.text,
            )))
            .collect();
        ctx.set_embedded_modules(&embedded);
        let mut modules = Vec::new();
        for m in MODULES {
            let features: Vec<&'static str> = if options.simulation && m.name == "tether-interfaces"
            {
                vec!["simulation"]
            } else {
                vec![]
            };
            ctx.load_module(m.name, Some(m.revision), &features)
                .map_err(|e| ModelError::Schema(format!("module {}: {e}", m.name)))?;
            modules.push(ModuleInfo {
                name: m.name,
                revision: m.revision,
                organization: m.organization,
                namespace: m.namespace,
                features,
            });
        }
        let mut deviations = Vec::new();
        if !options.simulation {
            let d = LINUX_INTERFACE_NAMES;
            ctx.load_module(d.name, Some(d.revision), &[])
                .map_err(|e| ModelError::Schema(format!("module {}: {e}", d.name)))?;
            deviations.push(ModuleInfo {
                name: d.name,
                revision: d.revision,
                organization: "Tether project",
                namespace: d.namespace,
                features: vec![],
            });
        }
        let names: Vec<&str> = modules.iter().map(|m| m.name).collect();
        // The analysis keeps addresses of compiled nodes: valid for as long as the context,
        // which is leaked below.
        let deps = Dependencies::analyse(&ctx, &names);
        let limits = Limits::analyse(&ctx, &names)?;
        ffi::clear_errors(raw);
        let schema: &'static Schema = Box::leak(Box::new(Schema {
            ctx,
            raw: ffi::CtxPtr(raw),
            options,
            modules,
            deviations,
            deps,
            limits,
        }));
        Ok(schema)
    }

    /// The libyang context.
    pub fn context(&'static self) -> &'static Context {
        &self.ctx
    }

    /// The raw libyang context, for the FFI layer.
    pub(crate) fn raw(&self) -> *mut libyang3_sys::ly_ctx {
        self.raw.0
    }

    /// Discards the errors libyang recorded on this thread. Tether keeps every libyang error
    /// (not only the last) so a client hears of all its mistakes at once; code outside this
    /// crate that calls yang3 directly and expects failures (a lookup of an absent node) must
    /// clear them, or they pile up for the thread.
    pub fn clear_errors(&self) {
        ffi::clear_errors(self.raw());
    }

    /// The options the schema was built with.
    pub fn options(&self) -> SchemaOptions {
        self.options
    }

    /// The dependency analysis of the compiled modules.
    pub(crate) fn deps(&self) -> &Dependencies {
        &self.deps
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The entry limits found in the compiled schema: (list, limit leaf, whether it counts
    /// all instances together), schema paths.
    pub fn limit_report(&self) -> Vec<(String, String, bool)> {
        self.limits.report()
    }

    /// The data paths of a module's top-level data nodes (`/module:name`).
    pub(crate) fn top_level_paths(&'static self, module: &str) -> Vec<String> {
        self.ctx
            .get_module_implemented(module)
            .map(|m| {
                m.data()
                    .map(|n| format!("/{module}:{}", n.name()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What the dependency analysis concluded, for tests and docs: the lists whose untouched
    /// entries a transaction leaves out of validation, and which module reads which.
    pub fn shortcut_report(&self) -> (Vec<String>, Vec<(String, Vec<String>)>) {
        let reads = self
            .deps
            .reads()
            .iter()
            .map(|(m, r)| (m.clone(), r.iter().cloned().collect()))
            .collect();
        (self.deps.prunable_paths(), reads)
    }

    /// The names of Tether's own modules.
    pub(crate) fn module_names(&self) -> std::collections::BTreeSet<String> {
        self.modules.iter().map(|m| m.name.to_string()).collect()
    }

    /// Tether's own modules (not libyang's internal ones).
    pub fn modules(&self) -> &[ModuleInfo] {
        &self.modules
    }

    /// The deviation modules in force (empty with the simulation on). They hold no data;
    /// Capabilities and the NETCONF hello advertise them beside [`Schema::modules`].
    pub fn deviations(&self) -> &[ModuleInfo] {
        &self.deviations
    }

    /// Finds the module that defines a top-level data node named `name` (for clients that
    /// send `/link-state/...` without a module prefix).
    pub fn module_of_top_level(&'static self, name: &str) -> Option<&'static str> {
        self.modules.iter().map(|m| m.name).find(|m| {
            self.ctx
                .get_module_implemented(m)
                .is_some_and(|module| module.data().any(|n| n.name() == name))
        })
    }
}
