module.exports = { displayName: 'registry-feature', preset: '../../../jest.preset.js', rootDir: __dirname };
