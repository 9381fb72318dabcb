import Foundation
import Testing
@testable import Engine

/// Opens any weight file the manifest lists (safetensors, torch.save zip, legacy torch.save), by its bytes.
func loadArchive(_ path: String) throws -> any TensorArchive {
    try Checkpoint.open(path)
}

/// One U-Net weight file of the manifest together with the io file that holds its reference outputs.
struct UNetParityCase: Sendable, CustomStringConvertible {
    let weightsFile: String
    let ioFile: String
    /// io tensor the output must match (`out` for the float32 model, `out_f16weights` for float16 copies).
    let outputTensor: String
    /// Whether the io file's input gradient belongs to this weight file's model.
    let checksGradient: Bool
    let intermediates: [String]
    let configJSON: Data

    var description: String { "\(weightsFile) vs \(ioFile):\(outputTensor)" }

    /// Every (weight file, io file) pair named by a `kind: unet` case.
    static let all: [UNetParityCase] = {
        var cases: [UNetParityCase] = []
        for entry in Fixtures.files {
            guard let c = entry["case"] as? [String: Any], c["kind"] as? String == "unet",
                let io = entry["file"] as? String, let config = entry["model_config"]
            else { continue }
            let configJSON = try! JSONSerialization.data(withJSONObject: config)
            let intermediates = c["intermediates"] as? [String] ?? []
            let roles: [(key: String, output: String, gradient: Bool)] = [
                ("weights_file", "out", true), ("pt_file", "out", true),
                ("f16_weights_file", "out_f16weights", false), ("f16_pt_file", "out_f16weights", false),
            ]
            for role in roles {
                // Every listed weight file is a case: an unreadable one fails its test instead of vanishing.
                guard let file = c[role.key] as? String else { continue }
                cases.append(UNetParityCase(
                    weightsFile: file, ioFile: io, outputTensor: role.output, checksGradient: role.gradient,
                    intermediates: role.gradient ? intermediates : [], configJSON: configJSON))
            }
        }
        return cases
    }()
}

@Suite struct UNetParityTests {
    @Test func manifestHasUNetCases() {
        #expect(!UNetParityCase.all.isEmpty, "no readable U-Net weight files in the fixture manifest")
    }

    @Test(arguments: UNetParityCase.all)
    func unetParity(_ c: UNetParityCase) throws {
        let config = try JSONDecoder().decode(UNetConfig.self, from: c.configJSON)
        let archive = try loadArchive(Fixtures.path(c.weightsFile))
        let model = try UNetModel(config: config, weights: WeightStore(archive))
        // float32 checkpoints are used in place (memory-mapped), never copied.
        if let st = archive as? SafeTensorsArchive, st.dtype(of: "out.2.weight") == .f32 {
            #expect(model.outConv.weight.storage.pointer == (try st.tensor(named: "out.2.weight")).storage.pointer)
        }
        let io = try Fixtures.safetensors(c.ioFile)
        let x = try io.tensor(named: "x"), t = try io.tensor(named: "timesteps")

        if io.shape(of: "timestep_embedding") != nil {
            let reference = try io.tensor(named: "timestep_embedding").scalars
            let err = relativeL2(Ops.timestepEmbedding(t, dim: config.modelChannels).scalars, reference)
            #expect(err <= parityTolerance, "timestep_embedding rel-L2 \(err)")
        }
        if c.checksGradient, io.shape(of: "emb") != nil {
            let err = relativeL2(model.timestepEmbedding(t).scalars, try io.tensor(named: "emb").scalars)
            #expect(err <= parityTolerance, "emb rel-L2 \(err)")
        }

        var observed: [String: Tensor] = [:]
        let out = model(Variable(x), timesteps: t) { name, value in observed["h_" + name] = value }.value
        let outErr = relativeL2(out.scalars, try io.tensor(named: c.outputTensor).scalars)
        #expect(outErr <= parityTolerance, "\(c.outputTensor) rel-L2 \(outErr)")
        print("\(c): output rel-L2 \(outErr)")
        for name in c.intermediates {
            let value = try #require(observed[name], "the model produced no \(name)")
            let err = relativeL2(value.scalars, try io.tensor(named: name).scalars)
            #expect(err <= parityTolerance, "\(name) rel-L2 \(err)")
        }

        if c.checksGradient {
            let cotangent = try io.tensor(named: "G")
            let (output, grad) = model.inputGradient(x, timesteps: t, cotangent: cotangent)
            #expect(output.scalars == out.scalars, "the recorded forward differs from the plain forward")
            let gradErr = relativeL2(grad.scalars, try io.tensor(named: "grad_x").scalars)
            #expect(gradErr <= parityTolerance, "grad_x rel-L2 \(gradErr)")
            print("\(c): grad_x rel-L2 \(gradErr)")

            // Block recomputation (checkpointing) must give the same gradient.
            for policy in [UNetModel.Recompute.fullResolution, .all] {
                let recomputing = try UNetModel(config: config, weights: WeightStore(archive), recompute: policy)
                let (_, recomputed) = recomputing.inputGradient(x, timesteps: t, cotangent: cotangent)
                let recomputedErr = relativeL2(recomputed.scalars, try io.tensor(named: "grad_x").scalars)
                #expect(recomputedErr <= parityTolerance, "grad_x with recompute \(policy) rel-L2 \(recomputedErr)")
            }
        }
    }
}
