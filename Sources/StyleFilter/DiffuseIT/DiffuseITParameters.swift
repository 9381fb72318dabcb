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
    /// Weighted range loss above which a step triggers a restart (0.01 ImageNet, 0.1 FFHQ upstream).
    public var rangeRestartThreshold: Float = 0.01
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

    /// The names `set(_:_:)` accepts (upstream's flag names without dashes).
    public static let settableNames: [String] = [
        "clip_guidance_lambda", "lambda_trg", "l2_trg_lambda", "range_lambda", "vit_lambda", "lambda_ssim",
        "lambda_dir_cls", "lambda_contra_ssim", "id_lambda", "diff_iter", "aug_num", "resample_num",
        "skip_timesteps", "timestep_respacing", "use_range_restart", "use_noise_aug_all", "use_prog_contrast",
        "regularize_content", "use_colormatch", "range_restart_threshold", "max_restarts",
    ]

    /// Sets one setting by its upstream name; throws a one-line reason for an unknown name or value.
    public mutating func set(_ name: String, _ value: String) throws {
        func float() throws -> Float {
            guard let v = Float(value), v.isFinite else { throw DiffuseITError.badParameter("\(name)=\(value): not a number") }
            return v
        }
        func int() throws -> Int {
            guard let v = Int(value), v >= 0 else { throw DiffuseITError.badParameter("\(name)=\(value): not a non-negative integer") }
            return v
        }
        func bool() throws -> Bool {
            switch value.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw DiffuseITError.badParameter("\(name)=\(value): not a boolean (true/false)")
            }
        }
        switch name.replacingOccurrences(of: "-", with: "_") {
        case "clip_guidance_lambda": clipGuidanceLambda = try float()
        case "lambda_trg": lambdaTrg = try float()
        case "l2_trg_lambda": l2TrgLambda = try float()
        case "range_lambda": rangeLambda = try float()
        case "vit_lambda": vitLambda = try float()
        case "lambda_ssim": lambdaSSIM = try float()
        case "lambda_dir_cls": lambdaDirCls = try float()
        case "lambda_contra_ssim": lambdaContraSSIM = try float()
        case "id_lambda": idLambda = try float()
        case "diff_iter": diffIter = try int()
        case "aug_num":
            augNum = try int()
            guard augNum > 0 else { throw DiffuseITError.badParameter("aug_num must be at least 1") }
        case "resample_num":
            resampleCount = try int()
            guard resampleCount > 0 else { throw DiffuseITError.badParameter("resample_num must be at least 1") }
        case "skip_timesteps": skipTimesteps = try int()
        case "timestep_respacing": timestepRespacing = value
        case "use_range_restart": useRangeRestart = try bool()
        case "use_noise_aug_all": useNoiseAugAll = try bool()
        case "use_prog_contrast": useProgContrast = try bool()
        case "regularize_content": regularizeContent = try bool()
        case "use_colormatch": useColormatch = try bool()
        case "range_restart_threshold": rangeRestartThreshold = try float()
        case "max_restarts": maxRestarts = try int()
        default:
            throw DiffuseITError.badParameter("unknown parameter '\(name)' (known: \(DiffuseITParameters.settableNames.joined(separator: ", ")))")
        }
    }
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
