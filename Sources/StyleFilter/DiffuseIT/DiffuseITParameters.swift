import Engine

/// Every setting of a DiffuseIT run, named as upstream's `optimization/arguments.py` names them.
///
/// Defaults are upstream's. The presets (`paper`, `fast`) set what upstream's README command lines
/// set per mode; `set(_:_:)` takes any loss weight or switch by its upstream name.
public struct DiffuseITParameters: Sendable, Equatable {
    /// Respaced step count N (`--timestep_respacing`; guided-diffusion syntax: "100", "ddim50", "10,20").
    public var timestepRespacing = "100"
    /// Respaced steps skipped at the noisy end (`--skip_timesteps`); the run starts at k0 = N − skip − 1.
    public var skipTimesteps = 40
    /// Deterministic DDIM (η = 0) with `condition_score` instead of guided DDPM (`--ddim`).
    public var ddim = false
    /// Guided repeats of the first timestep (upstream hard-codes 10 and ignores `--resample_num`;
    /// honoured here, 10 by default). DDIM does no resampling, as upstream.
    public var resampleCount = 10
    /// Semantic divergence is active while k > diffIter (`--diff_iter`).
    public var diffIter = 50
    /// Random CLIP views per model and step (`--aug_num`).
    public var augNum = 8

    public var clipGuidanceLambda: Float = 2000
    public var lambdaTrg: Float = 2000
    public var l2TrgLambda: Float = 3000
    public var rangeLambda: Float = 200
    /// Upstream uses it only as an on/off switch of all DINO terms (its value never multiplies).
    public var vitLambda: Float = 1
    public var lambdaSSIM: Float = 1000
    public var lambdaDirCls: Float = 100
    public var lambdaContraSSIM: Float = 200
    public var idLambda: Float = 100

    public var useRangeRestart = false
    public var useNoiseAugAll = false
    public var useProgContrast = false
    public var regularizeContent = false
    public var useColormatch = false
    /// Faces mode (upstream `--use_ffhq`): the FFHQ U-Net as the prior, the ArcFace identity loss
    /// weighted by ``idLambda``, and the faces range-restart threshold.
    public var useFFHQ = false
    /// Weighted range loss above which a step triggers a restart; nil: upstream's value for the
    /// prior (0.01 ImageNet, 0.1 FFHQ), see ``restartThreshold``.
    public var rangeRestartThreshold: Float?
    /// Upper bound on range restarts per output (upstream: none, which can loop forever); when it is
    /// reached the run continues without restarting and a warning says so.
    public var maxRestarts = 5

    public init() {}

    /// The preset names `named(_:mode:)` knows.
    public static let presetNames = ["paper", "fast"]

    /// A preset for a mode. `paper`: upstream README's command line for that mode (text:
    /// `--use_range_restart --use_noise_aug_all --regularize_content`, N 100, skip 40; image:
    /// `--use_range_restart --diff_iter 100 --timestep_respacing 200 --skip_timesteps 80
    /// --use_colormatch --use_noise_aug_all`). `fast`: the same settings on half the steps (the same
    /// starting noise level, the same share of semantic-divergence steps), 5 resampling repeats and
    /// 4 CLIP views.
    public static func named(_ name: String, imageMode: Bool) -> DiffuseITParameters? {
        var p = DiffuseITParameters()
        p.useRangeRestart = true
        p.useNoiseAugAll = true
        if imageMode {
            p.timestepRespacing = "200"
            p.skipTimesteps = 80
            p.diffIter = 100
            p.useColormatch = true
        } else {
            p.regularizeContent = true
        }
        switch name {
        case "paper":
            return p
        case "fast":
            if imageMode {
                p.timestepRespacing = "100"
                p.skipTimesteps = 40
                p.diffIter = 50
            } else {
                p.timestepRespacing = "50"
                p.skipTimesteps = 20
                p.diffIter = 25
            }
            p.resampleCount = 5
            p.augNum = 4
            return p
        default:
            return nil
        }
    }

    /// One settable setting: its upstream name (without dashes) and what it sets.
    private enum Setting {
        case float(WritableKeyPath<DiffuseITParameters, Float>)
        case optionalFloat(WritableKeyPath<DiffuseITParameters, Float?>)
        /// A count, at least `minimum`.
        case int(WritableKeyPath<DiffuseITParameters, Int>, minimum: Int)
        case bool(WritableKeyPath<DiffuseITParameters, Bool>)
        case text(WritableKeyPath<DiffuseITParameters, String>)
    }

    /// Every setting `set(_:_:)` accepts, in help order: names and setters from this one list.
    nonisolated(unsafe) private static let settings: [(name: String, setting: Setting)] = [
        ("clip_guidance_lambda", .float(\.clipGuidanceLambda)), ("lambda_trg", .float(\.lambdaTrg)),
        ("l2_trg_lambda", .float(\.l2TrgLambda)), ("range_lambda", .float(\.rangeLambda)), ("vit_lambda", .float(\.vitLambda)),
        ("lambda_ssim", .float(\.lambdaSSIM)), ("lambda_dir_cls", .float(\.lambdaDirCls)),
        ("lambda_contra_ssim", .float(\.lambdaContraSSIM)), ("id_lambda", .float(\.idLambda)),
        ("diff_iter", .int(\.diffIter, minimum: 0)), ("aug_num", .int(\.augNum, minimum: 1)),
        ("resample_num", .int(\.resampleCount, minimum: 1)), ("skip_timesteps", .int(\.skipTimesteps, minimum: 0)),
        ("timestep_respacing", .text(\.timestepRespacing)), ("use_range_restart", .bool(\.useRangeRestart)),
        ("use_noise_aug_all", .bool(\.useNoiseAugAll)), ("use_prog_contrast", .bool(\.useProgContrast)),
        ("regularize_content", .bool(\.regularizeContent)), ("use_colormatch", .bool(\.useColormatch)),
        ("range_restart_threshold", .optionalFloat(\.rangeRestartThreshold)), ("max_restarts", .int(\.maxRestarts, minimum: 0)),
    ]

    private static func number(_ name: String, _ value: String) throws -> Float {
        guard let v = Float(value), v.isFinite else { throw DiffuseITError.badParameter("\(name)=\(value): not a number") }
        return v
    }

    /// The weighted range loss above which a step triggers a restart: ``rangeRestartThreshold``, else
    /// upstream's 0.1 with the faces prior and 0.01 otherwise.
    public var restartThreshold: Float { rangeRestartThreshold ?? (useFFHQ ? 0.1 : 0.01) }

    /// Every setting by its upstream name, as `set(_:_:)` reads it back (unset optional ones left out).
    package var settingValues: [(name: String, value: String)] {
        Self.settings.compactMap { name, setting in
            switch setting {
            case .float(let path): return (name, "\(self[keyPath: path])")
            case .optionalFloat(let path): return self[keyPath: path].map { (name, "\($0)") }
            case .int(let path, _): return (name, "\(self[keyPath: path])")
            case .bool(let path): return (name, "\(self[keyPath: path])")
            case .text(let path): return (name, self[keyPath: path])
            }
        }
    }

    /// The settings whose values differ from `base`'s, by upstream name (what `--param` changed).
    package func changes(from base: DiffuseITParameters) -> [String: String] {
        let old = Dictionary(uniqueKeysWithValues: base.settingValues.map { ($0.name, $0.value) })
        return Dictionary(uniqueKeysWithValues: settingValues.filter { old[$0.name] != $0.value })
    }

    /// The names `set(_:_:)` accepts (upstream's flag names without dashes).
    public static var settableNames: [String] { settings.map(\.name) }

    /// Sets one setting by its upstream name; throws a one-line reason for an unknown name or value.
    public mutating func set(_ name: String, _ value: String) throws {
        guard let setting = Self.settings.first(where: { $0.name == name.replacingOccurrences(of: "-", with: "_") })?.setting else {
            throw DiffuseITError.badParameter("unknown parameter '\(name)' (known: \(DiffuseITParameters.settableNames.joined(separator: ", ")))")
        }
        switch setting {
        case .float(let path):
            self[keyPath: path] = try Self.number(name, value)
        case .optionalFloat(let path):
            self[keyPath: path] = try Self.number(name, value)
        case .int(let path, let minimum):
            guard let v = Int(value), v >= 0 else { throw DiffuseITError.badParameter("\(name)=\(value): not a non-negative integer") }
            guard v >= minimum else { throw DiffuseITError.badParameter("\(name) must be at least \(minimum)") }
            self[keyPath: path] = v
        case .bool(let path):
            switch value.lowercased() {
            case "1", "true", "yes", "on": self[keyPath: path] = true
            case "0", "false", "no", "off": self[keyPath: path] = false
            default: throw DiffuseITError.badParameter("\(name)=\(value): not a boolean (true/false)")
            }
        case .text(let path):
            self[keyPath: path] = value
        }
    }
}

extension DiffuseITParameters {
    /// Length of the base noise schedule every run respaces (upstream's `diffusion_steps`).
    static let baseSteps = 1000

    /// The respaced diffusion of a run: upstream's linear 1000-step schedule respaced by
    /// `timestepRespacing` (the one place it is built).
    package func diffusion() throws -> GaussianDiffusion {
        try GaussianDiffusion(schedule: .linear, baseSteps: Self.baseSteps, respacing: timestepRespacing)
    }

    /// A diffusion keeping exactly `timesteps` of the base schedule (detail mode's refinement).
    static func diffusion(keeping timesteps: [Int]) throws -> GaussianDiffusion {
        try GaussianDiffusion(baseBetas: try BetaSchedule.linear.betas(steps: baseSteps), keptTimesteps: timesteps)
    }

    /// The respaced step count N without building the schedule, nil for an invalid respacing.
    var respacedStepCount: Int? {
        (try? TimestepRespacing.keptTimesteps(baseStepCount: Self.baseSteps, spec: timestepRespacing))?.count
    }

    /// The first (noisiest) respaced index of a run on an N-step schedule, k0 = N − skip − 1; nil when
    /// the skip leaves no step.
    func startIndex(stepCount: Int) -> Int? {
        let k0 = stepCount - skipTimesteps - 1
        return k0 >= 0 ? k0 : nil
    }

    /// Throws a one-line reason when the respacing is not valid or the skip leaves no step.
    public func validateSchedule() throws {
        guard let n = respacedStepCount else {
            throw DiffuseITError.badParameter("timestep_respacing '\(timestepRespacing)' is not a respacing of \(Self.baseSteps) steps")
        }
        guard startIndex(stepCount: n) != nil else { throw DiffuseITError.badParameter("skip_timesteps \(skipTimesteps) leaves no step of \(n)") }
    }

    /// Guided DDPM repeats of the first index (DDIM has none, as upstream).
    var resamples: Int { ddim ? 0 : resampleCount }
}

/// Why a DiffuseIT run cannot start or continue.
public enum DiffuseITError: Error, CustomStringConvertible, Equatable {
    case badParameter(String)
    case badInput(String)

    public var description: String {
        switch self {
        case .badParameter(let why): return "style: \(why)"
        case .badInput(let why): return "style: \(why)"
        }
    }
}
