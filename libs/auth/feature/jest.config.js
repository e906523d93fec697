module.exports = { displayName: 'auth-feature', preset: '../../../jest.preset.js', rootDir: __dirname };
