import Foundation
import Testing
import ZenTensor
import ZenTraining

@Suite struct LearningRateScheduleTests {
    /// The training fixture's setting: 24 texts, 2 epochs, batch 8, warm-up 0.2 of 6 steps.
    let schedule = LearningRateSchedule(peakRate: 1e-3, examples: 24, epochs: 2, batchSize: 8, warmupRatio: 0.2)

    @Test func stepsAndWarmUpAsTheReferenceCountsThem() {
        #expect(schedule.totalSteps == 6)
        #expect(abs(schedule.warmupSteps - 1.2) < 1e-12)
        #expect(LearningRateSchedule(peakRate: 1, examples: 25, epochs: 1, batchSize: 8, warmupRatio: 0).totalSteps == 3)
    }

    @Test func warmUpThenLinearDecayThenTheFloor() {
        #expect(schedule.rate(at: 0) == 0)                                   // the first step does not move
        #expect(abs(schedule.rate(at: 1) - 1e-3 / 1.2) < 1e-15)              // s < warm: lr · s / max(1, warm)
        let decayed = (1e-3 - 1e-7) * (1 - (4 - 1.2) / (6 - 1.2)) + 1e-7
        #expect(abs(schedule.rate(at: 4) - decayed) < 1e-15)
        #expect(abs(schedule.rate(at: 6) - 1e-7) < 1e-15)                    // s = total: the end rate
        #expect(schedule.rate(at: 7) == 1e-7)                                // s > total
        let short = LearningRateSchedule(peakRate: 1, examples: 4, epochs: 1, batchSize: 1, warmupRatio: 0.1)
        #expect(short.rate(at: 0) == 0)                                      // warm 0.4: divided by max(1, warm)
    }
}

@Suite struct AdamWTests {
    @Test func noDecayRule() {
        for name in ["bert.encoder.layer.0.attention.self.query.bias", "bert.embeddings.LayerNorm.weight",
                     "bert.encoder.layer.0.output.LayerNorm.bias", "bert.encoder.word_layers.0.attention.self.r_r_bias",
                     "bert.encoder.layer.1.attention.self.r_w_bias"] {
            #expect(!AdamW.decays(name), "\(name)")
        }
        #expect(AdamW.decays("bert.encoder.layer.0.attention.self.query.weight"))
        #expect(AdamW.decays("classifier.weight"))
    }

    /// Three steps against the update written out in double precision, one scalar at a time.
    @Test func matchesTheAdamWUpdate() {
        var generator = SplitMix64(seed: 11)
        let shape = [3, 5]
        let start = (0..<15).map { _ in generator.nextFloat() }
        let gradients = (0..<3).map { _ in (0..<15).map { _ in generator.nextFloat() } }
        let rates = [0.0, 1e-2, 5e-3]
        for name in ["dense.weight", "dense.bias"] {
            var optimizer = AdamW(weightDecay: 0.01)
            var parameters = [name: Tensor(shape: shape, scalars: start)]
            var expected = start.map(Double.init)
            var m = [Double](repeating: 0, count: 15), v = [Double](repeating: 0, count: 15)
            for (step, (gradient, rate)) in zip(gradients, rates).enumerated() {
                optimizer.step(gradients: [name: Tensor(shape: shape, scalars: gradient)], learningRate: rate) { update in
                    update(name, &parameters[name]!)
                }
                let t = Double(step + 1)
                for i in 0..<15 {
                    let g = Double(gradient[i])
                    if AdamW.decays(name) { expected[i] *= 1 - rate * 0.01 }
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.999 * v[i] + 0.001 * g * g
                    expected[i] -= rate / (1 - pow(0.9, t)) * m[i] / ((v[i] / (1 - pow(0.999, t))).squareRoot() + 1e-8)
                }
            }
            let got = parameters[name]!.scalars
            for i in 0..<15 { #expect(abs(Double(got[i]) - expected[i]) < 1e-6, "\(name)[\(i)]") }
            #expect(optimizer.steps == 3)
        }
    }
}
