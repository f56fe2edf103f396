// The example the submit page offers when the server ships none: the moons run of the README.

export const BUILT_IN_EXAMPLES = [
  {
    name: "moons",
    file: null,
    description: "Two moons, a 2-3-2 tanh network, Adam with StepLR",
    spec: {
      dataset: { type: "moons", n_samples: 200, noise: 0.2, random_state: 0 },
      model: {
        layers: [
          { type: "Linear", out_features: 3 },
          { type: "Tanh" },
          { type: "Linear", out_features: 2 },
        ],
      },
      loss: { type: "CrossEntropyLoss" },
      optimizer: { type: "Adam", lr: 0.01 },
      scheduler: { type: "StepLR", step_size: 50, gamma: 0.99 },
      training: { epochs: 1000, batch_size: null, seed: 0 },
    },
  },
];
